"""Notices to list owners that say what happened and why.

Each text is a Mailman template (`list:admin:notice:bouncerules-*`, see
templates/), so a site or list overrides or translates it like Mailman's
own; the subjects go through Mailman's `_()`.  The server's words in a
bounce are untrusted text: they are quoted, shortened and defanged (see
untrusted.py), never written as the list's own.
"""

from collections.abc import Sequence
from typing import Any

from mailman.core.i18n import _
from mailman.email.message import OwnerNotification
from mailman.interfaces.mailinglist import IMailingList
from mailman.utilities.string import expand
from public import public

from mailman_bouncerules.app.decisions import AnyDecision
from mailman_bouncerules.interfaces import EvidenceLevel
from mailman_bouncerules.model.tables import Hold, MemberState
from mailman_bouncerules.templates import load_template
from mailman_bouncerules.utilities.untrusted import printable, quoted

# What a removal means, by the rule's reason word.
_REMOVAL_REASONS = {
    'userunknown': 'the receiving server says the mailbox does not exist',
    'hostunknown': "the address's domain does not exist",
    'notaccept': 'the domain accepts no mail',
    'hasmoved': 'the receiving server says the address has moved',
    'suspend': 'the receiving server says the mailbox is disabled',
}


@public
def removal_reason(reason: str | None) -> str:
    """What a removal by a rule with this reason word means, in words."""
    return _REMOVAL_REASONS.get(
        reason or '', 'a bounce rule (%s) removes at once' % reason)


@public
def confirmed(mlist: IMailingList, email: str, state: MemberState,
              campaigns: Sequence[str]) -> None:
    text = _expand('confirmed', mlist, email=email, run=state.run,
                   rule=state.last_rule, status=state.last_status or '-',
                   smtp_code=state.last_smtp_code or '-',
                   campaigns='\n'.join('    <%s>' % message_id
                                       for message_id in campaigns))
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _("${email}'s delivery stopped by bounces on "
                    '${display_name}')
    send(mlist, subject, text)


@public
def removed(mlist: IMailingList, email: str, decision: AnyDecision,
            evidence: EvidenceLevel) -> None:
    recipient = decision.recipient
    because = removal_reason(decision.reason)
    text = _expand('removed', mlist, email=email, because=because,
                   evidence=evidence.described,
                   why=printable(decision.explain()),
                   status=printable(recipient.status) or '-',
                   smtp_code=printable(recipient.smtp_code) or '-',
                   diagnostic=quoted(recipient.diagnostic))
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _('${email} removed from ${display_name} by bounces')
    send(mlist, subject, text)


@public
def breaker_tripped(mlist: IMailingList, hold: Hold, what: str) -> None:
    """`what`: one sentence on what tripped (see breaker.py)."""
    text = _expand('breaker', mlist, what=what, hold_id=hold.id,
                   sample=quoted(hold.sample),
                   taken_back=(', and those already made for the campaign '
                               'were taken back'
                               if hold.campaign_id is not None else ''))
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _('Bounce circuit breaker tripped on ${display_name}')
    send(mlist, subject, text)


@public
def breaker_digest(mlist: IMailingList, holds: Sequence[Hold]) -> None:
    """The trips since the owners were last told, one line each."""
    lines = '\n'.join(
        '    hold %d: %s %s, %d of %d recipients failed (%s), %s' % (
            hold.id, hold.scope, printable(hold.domain), hold.failures,
            hold.recipients, printable(hold.rule), hold.status)
        for hold in holds)
    text = _expand('breaker-digest', mlist, count=len(holds), holds=lines)
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _('Bounce circuit breaker: more trips on ${display_name}')
    send(mlist, subject, text)


@public
def probe_budget_spent(mlist: IMailingList) -> None:
    text = _expand('probe-budget', mlist)
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _('Bounce verification waits on ${display_name}')
    send(mlist, subject, text)


@public
def suspicious_report(mlist: IMailingList, named: int, probed: int) -> None:
    text = _expand('suspicious', mlist, named=named, probed=probed)
    display_name = mlist.display_name   # noqa: F841 (the subject names it)
    with _.using(mlist.preferred_language.code):
        subject = _('Unverified bounce reports on ${display_name}')
    send(mlist, subject, text)


def _expand(name: str, mlist: IMailingList, **values: Any) -> str:
    """The text of template list:admin:notice:bouncerules-NAME, filled in.
    One pass: a value (a bounce's words) is never expanded again."""
    return expand(load_template('list:admin:notice:bouncerules-' + name,
                                mlist), mlist, values)


@public
def send(mlist: IMailingList, subject: str, text: str) -> None:
    """A Mailman owner notification to the list's owners and moderators."""
    OwnerNotification(mlist, subject, text,
                      roster=mlist.administrators).send(mlist)
