"""The owner report: a periodic plain-text summary for the list owners.

Off by default; a list asks for it daily or weekly.  The bounce runner's
periodic pass sends the reports that are due.  The text comes from the
template `list:admin:notice:bouncerules-report`, found through Mailman's
own template machinery first (so a site or list can override or translate
it like any Mailman template), else from the plugin's packaged default in
the list's language; it goes out as a Mailman owner notification.
"""

import datetime
from collections import Counter
from collections.abc import Sequence

from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.utilities.datetime import now
from mailman.utilities.string import expand
from public import public
from sqlalchemy import select
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app import notices
from mailman_bouncerules.interfaces import EventName, IBounceAdmin, ReportFrequency
from mailman_bouncerules.model.tables import HELD, Event, ListSettings
from mailman_bouncerules.templates import load_template

TEMPLATE = 'list:admin:notice:bouncerules-report'
PERIODS = {ReportFrequency.DAILY: datetime.timedelta(days=1),
           ReportFrequency.WEEKLY: datetime.timedelta(days=7)}
@public
def send_due_reports(store: Session) -> int:
    """Send every report whose period has passed; returns how many."""
    sent = 0
    for settings in store.scalars(select(ListSettings).filter(
            ListSettings.report.in_(tuple(PERIODS)))).all():
        since = settings.last_report_at
        period = PERIODS[ReportFrequency(settings.report)]
        if since is not None and now() - since < period:
            continue
        mlist = getUtility(IListManager).get_by_list_id(settings.list_id)
        if mlist is None:
            continue
        since = since or now() - period
        notices.send(mlist, 'Bounce report for %s' % mlist.display_name,
                     render(mlist, store, since, settings.report))
        settings.last_report_at = now()
        sent += 1
    return sent


@public
def render(mlist: IMailingList, store: Session, since: datetime.datetime,
           period_name: str = 'since') -> str:
    """The report's text for events after `since`."""
    admin = IBounceAdmin(mlist)
    events = store.scalars(select(Event).filter_by(
        list_id=mlist.list_id).filter(Event.at > since).order_by(
        Event.at, Event.id)).all()
    stats = admin.stats()
    data = dict(
        period='%s, since %s UTC' % (period_name, since.isoformat()[:16]),
        shadow_note=('\n(Shadow mode: these are what the rules *would* do; '
                     'stock Mailman is in charge.)' if stats['shadow'] else ''),
        changes=_changes(events), holds=_holds(admin), rules=_rules(events),
        campaigns=_campaigns(admin, since),
        **{key: stats[key] for key in ('members', 'active', 'soft', 'hard',
                                       'confirmed', 'removed')})
    return expand(load_template(TEMPLATE, mlist), mlist, data)


# How the report words each change; the rule and status that led to it
# follow on the same line (a removal says its own reason, never one
# wording for all).
_SHOWN = {EventName.CONFIRMED: 'confirmed (delivery stopped)',
          EventName.REMOVED: 'removed',
          EventName.WOULD_CONFIRM: 'would be confirmed',
          EventName.WOULD_REMOVE: 'would be removed',
          EventName.HELD: 'held by the circuit breaker',
          EventName.UNDO: 'undone', EventName.REENABLE: 're-enabled',
          EventName.OPEN: 'opened a post'}


def _changes(events: Sequence[Event]) -> str:
    by_member: dict[str, dict] = {}
    for event in events:
        if event.event == EventName.BOUNCE:
            last = by_member.setdefault(event.email, {})
            last['bounce'] = event
        elif event.event in _SHOWN:
            by_member.setdefault(event.email, {})['change'] = event
    lines = []
    for email, seen in sorted(by_member.items()):
        change, bounce = seen.get('change'), seen.get('bounce')
        if change is not None:
            what = _SHOWN[change.event]
            if change.event == EventName.REMOVED and change.reason:
                what += ' (%s)' % notices.removal_reason(change.reason)
        else:                       # a member is in by_member for one or both
            what = '%s bounce' % seen['bounce'].classification
        why = ('  [rule %s, status %s]' % (bounce.rule, bounce.status or '-')
               if bounce is not None else '')
        lines.append('    %-36s %s%s' % (email, what, why))
    return '\n'.join(lines) or '    (none)'


def _holds(admin: IBounceAdmin) -> str:
    lines = ['    #%d %s at %s: %d of %d by rule %s; %d held' % (
        row['id'], row['campaign'], row['domain'], row['failures'],
        row['recipients'], row['rule'], len(row['held']))
        for row in admin.holds() if row['status'] == HELD]
    return '\n'.join(lines) or '    (none)'


def _campaigns(admin: IBounceAdmin, since: datetime.datetime) -> str:
    lines = []
    for row in admin.open_rates():
        if row['sent_at'] < since.isoformat():
            continue
        rate = ('not tracked' if not row['tracked'] else '-'
                if row['rate'] is None else '%.1f%%' % (100 * row['rate']))
        lines.append('    %s  %s  %s opened of %s' % (
            row['sent_at'][:16], row['campaign'], row['opened'],
            row['recipients'] or '?') + '  (%s)' % rate)
    return '\n'.join(lines) or '    (none)'


def _rules(events: Sequence[Event]) -> str:
    counts = Counter(e.rule for e in events if e.event == EventName.BOUNCE and e.rule)
    return '\n'.join('    %4d  %s' % (count, rule)
                     for rule, count in counts.most_common(5)) or '    (none)'
