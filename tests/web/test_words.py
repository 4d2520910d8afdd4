"""The panel says the plugin's words as an owner reads them, at the
owner's local time."""

import pytest
from django.utils import timezone, translation

from mailman_bouncerules_web.templatetags.bouncerules_words import (
    ACTIONS,
    ATTRIBUTION,
    EVENTS,
    EVIDENCE,
    HOLD_STATUS,
    REASONS,
    STATES,
    action_words,
    actor_words,
    attribution_words,
    event_words,
    evidence_words,
    local_time,
    reason_words,
    state_words,
)


def test_plugin_times_are_shown_in_the_visitor_s_zone_to_the_minute():
    with timezone.override('Europe/Berlin'):
        assert local_time('2026-12-06T10:00:00.123456') == \
            '2026-12-06 11:00 CET'
    with timezone.override('Asia/Tokyo'):
        assert local_time('2026-07-01T23:30:00') == '2026-07-02 08:30 JST'
    assert local_time('') == '' and local_time('not a time') == 'not a time'


def test_every_word_of_the_vocabulary_has_an_owner_s_wording():
    # The plugin's vocabulary, where the plugin is installed beside the
    # panel (not in the panel-alone check).
    pytest.importorskip('zope.interface')
    from mailman_bouncerules.interfaces import (
        Action,
        Attribution,
        EventName,
        EvidenceLevel,
        HoldStatus,
        State,
    )
    assert set(STATES) == {state.value for state in State}
    assert set(EVIDENCE) == {level.value for level in EvidenceLevel}
    assert set(ATTRIBUTION) == {how.value for how in Attribution}
    assert set(HOLD_STATUS) == {status.value for status in HoldStatus}
    assert set(EVENTS) == {event.value for event in EventName}
    assert {action for action, counted in ACTIONS} == {
        action.value for action in Action}
    assert action_words('count', True) == 'counted toward stopping mail'
    assert action_words('count', False).startswith('not counted')
    assert event_words('probe-expired').endswith('mailbox alive')
    assert state_words('confirmed') == 'Confirmed bouncing: mail stopped'
    assert evidence_words('smtp').startswith('verified')
    assert attribution_words('message-id') == \
        "the returned post's Message-ID"
    # A word a newer plugin adds is shown as it is, never an error.
    assert state_words('paused') == 'paused'
    with translation.override('de'):
        assert state_words('removed') == 'Entfernt'


def test_who_acted_is_said_as_an_owner_reads_it():
    assert actor_words('rest:web:ann') == 'ann, in this panel'
    assert actor_words('rest:cron') == 'cron, through the REST API'
    # The command line records the login name: shown as it is.
    assert actor_words('root') == 'root'
    with translation.override('de'):
        assert actor_words('rest:web:ann') != 'ann, in this panel'


def test_every_reason_of_the_default_rules_has_an_owner_s_wording():
    pytest.importorskip('zope.interface')
    from mailman_bouncerules.classify.rules.ruleset import RuleSet
    reasons = {rule.reason for rule in RuleSet.from_files().rules}
    assert reasons <= set(REASONS), reasons - set(REASONS)
    assert reason_words('suspend') == 'mailbox disabled'
    # An admin's own reason word is shown as it is.
    assert reason_words('our-own') == 'our-own'
