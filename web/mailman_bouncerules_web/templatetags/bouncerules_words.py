"""The plugin's vocabulary in an owner's words, and its times in the
owner's time zone.

The plugin's REST speaks in its stored words (`confirmed`, `smtp`,
`message-id`) and in UTC ISO times; a list owner reads sentences and
local times.  Each word maps to a translatable phrase; a word the map
does not know (a newer plugin's) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from django import template
from django.utils import timezone as django_timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

register = template.Library()

STATES = {
    'ok': _('Fine'),
    'soft': _('Soft bounces (mail still goes)'),
    'hard': _('Hard bounces (mail still goes)'),
    'confirmed': _('Confirmed bouncing: mail stopped'),
    'removed': _('Removed'),
}
EVIDENCE = {
    'token': _("verified: it came back to the post's own return address"),
    'smtp': _('verified: refused while the list delivered it'),
    'probe': _('verified: a probe to the member bounced too'),
    'unverified': _('not verified: a notice anyone could have sent'),
}
ATTRIBUTION = {
    'token': _("the post's own return address"),
    'message-id': _("the returned post's Message-ID"),
    'time': _('the time it arrived'),
    'none': _('nothing: tied to no post'),
    'probe': _("a probe's bounce"),
}

EVENTS = {
    'bounce': _('bounce'),
    'open': _('opened a post: count reset'),
    'post': _('posted to the list: count reset'),
    'reenable': _('re-enabled'),
    'undo': _('undone'),
    'confirmed': _('confirmed bouncing: mail stopped'),
    'removed': _('removed from the list'),
    'would-confirm': _('would stop mail (shadow mode)'),
    'would-remove': _('would remove (shadow mode)'),
    'verifying': _('verifying: a probe goes out first'),
    'unverified': _('not verified: nothing changed'),
    'not-enforced': _('not carried out'),
    'held': _('held by the circuit breaker'),
    'released': _('hold released'),
    'discarded': _('hold discarded'),
    'probe-sent': _('probe sent'),
    'probe-closed': _('probe no longer needed'),
    'probe-expired': _('probe did not bounce: mailbox alive'),
}
# A rule's reason word (the rules file's `reason:`), as an owner reads it.
REASONS = {
    'userunknown': _('no such mailbox'),
    'hostunknown': _("the address's domain does not exist"),
    'hasmoved': _('the address has moved'),
    'suspend': _('mailbox disabled'),
    'mailboxfull': _('mailbox full'),
    'mesgtoobig': _('message too big'),
    'filtered': _("refused by the recipient's filter"),
    'blocked': _("the list server's address is blocked"),
    'rejected': _("the list's sender address was refused"),
    'policyviolation': _('refused by a policy'),
    'authfailure': _("the list's mail failed authentication"),
    'requireptr': _("the list server's reverse DNS was refused"),
    'norelaying': _('relaying refused'),
    'toomanyconn': _('too many messages or connections at once'),
    'networkerror': _('a network error'),
    'systemerror': _("the receiving server's own error"),
    'mailererror': _('a mail program error'),
    'temporary': _('a temporary failure'),
    'delayed': _('delivery delayed, still trying'),
    'vacation': _('an automatic reply'),
    'feedback': _('a spam complaint'),
    'undefined': _('a failure no rule names'),
}
# What a bounce's rule asks for, and for a counting rule whether this one
# counted (a bounce tied to no post, or to a campaign already counted, is
# not); what then happened is the history's next row.
ACTIONS = {
    ('unsubscribe', False): _('the rule removes at once'),
    ('count', True): _('counted toward stopping mail'),
    ('count', False): _('not counted on its own (a probe\'s bounce, one '
                        'tied to no post, or a post already counted)'),
    ('record', False): _('recorded only'),
}
HOLD_STATUS = {
    'held': _('held: waiting for you'),
    'released': _('released: carried out'),
    'discarded': _('discarded: nobody changed'),
}
# Who acted, as the plugin records it: REST's callers are 'rest:<by>', the
# panel's own 'rest:web:<user>'; the command line records the login name.
PANEL_ACTOR, REST_ACTOR = 'rest:web:', 'rest:'


def _words_of(words: dict[str, Any]) -> Callable[[str], str]:
    """A filter saying a word of `words` as an owner reads it; a word the
    map does not know (a newer plugin's) is shown as it is."""
    def say(word: str) -> str:
        return str(words.get(word, word))
    return say


state_words = register.filter('state_words', _words_of(STATES))
evidence_words = register.filter('evidence_words', _words_of(EVIDENCE))
attribution_words = register.filter('attribution_words',
                                    _words_of(ATTRIBUTION))
event_words = register.filter('event_words', _words_of(EVENTS))
reason_words = register.filter('reason_words', _words_of(REASONS))
hold_status_words = register.filter('hold_status_words',
                                    _words_of(HOLD_STATUS))


@register.filter
def action_words(action: str, counted: bool) -> str:
    """What a bounce with this rule action did ('counted toward stopping
    mail'); an action a newer plugin adds is shown as it is."""
    return str(ACTIONS.get((action, bool(counted)), action))


@register.filter
def actor_words(actor: str) -> str:
    """'ann, in this panel' for 'rest:web:ann'; 'cron, through the REST
    API' for 'rest:cron'; a login name from the command line as it is."""
    if actor.startswith(PANEL_ACTOR):
        return str(_('%(who)s, in this panel') % {
            'who': actor[len(PANEL_ACTOR):]})
    if actor.startswith(REST_ACTOR):
        return str(_('%(who)s, through the REST API') % {
            'who': actor[len(REST_ACTOR):]})
    return actor


@register.filter
def local_time(stamp: str | None) -> str:
    """A plugin time (UTC, ISO) in the visitor's time zone, to the
    minute, with the zone's name: '2026-12-06 15:04 CET'."""
    if not stamp:
        return ''
    moment = parse_datetime(stamp)
    if moment is None:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return date_format(django_timezone.localtime(moment), 'Y-m-d H:i T')


@register.filter
def describe(rule: str, descriptions: dict[str, str]) -> str:
    """What the rule is for, as its rule file says."""
    return descriptions.get(rule, '') if descriptions else ''
