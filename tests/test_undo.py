"""Undo: a removal or confirmation taken back, exactly as it was."""

from mailman.config import config
from mailman.interfaces.action import Action
from mailman.interfaces.member import DeliveryMode, DeliveryStatus
from sitehelpers import (
    BART,
    add_member,
    bounce,
    dead_mailbox,
    mailman_command,
    make_list,
    queue,
    send_campaign,
    state,
)

from mailman_bouncerules.model.tables import Event
from mailman_bouncerules.tools.testing import samples


def test_undo_a_removal_restores_the_member_as_it_was(mailman):
    mlist = make_list()
    mlist.send_welcome_message = True
    member = add_member(mlist, BART, digest=True)
    member.preferences.receive_own_postings = False
    member.moderation_action = Action.hold
    config.db.commit()
    dead_mailbox(mlist, samples.rfc3464(BART, '5.1.1',
                                        '550 5.1.1 user unknown'))
    assert mlist.members.get_member(BART) is None
    queue('virgin')
    result = mailman_command('undo', 'ant@example.com', BART, '--by', 'carol')
    assert result.exit_code == 0, result.output
    assert 'undid the removal' in result.output
    back = mlist.members.get_member(BART)
    assert back is not None
    assert back.delivery_mode == DeliveryMode.plaintext_digests
    assert back.preferences.receive_own_postings is False
    assert back.moderation_action == Action.hold
    assert back.delivery_status == DeliveryStatus.enabled
    # No welcome message for a member who never left on purpose.
    assert all(BART not in item.msgdata.get('recipients', ())
               for item in queue('virgin'))
    assert state(mlist, BART).state == 'ok'
    [undo] = config.db.store.query(Event).filter_by(event='undo').all()
    assert undo.actor == 'carol'
    assert 'undid the removal' in undo.detail


def test_undo_a_confirmation_delivers_again(mailman):
    mlist = make_list()
    member = add_member(mlist, BART)
    for number in (1, 2, 3):
        dead_mailbox(mlist, samples.rfc3464(
            BART, '5.2.1', '550 5.2.1 disabled',
            original_id=send_campaign(mlist, number)))
    assert member.delivery_status == DeliveryStatus.by_bounces
    result = mailman_command('undo', 'ant@example.com', BART)
    assert 'undid the confirmation' in result.output
    assert member.delivery_status == DeliveryStatus.enabled
    assert (state(mlist, BART).state, member.bounce_score) == ('ok', 0)
    # Its old hard bounces no longer count toward a new confirmation.
    bounce(mlist, samples.rfc3464(BART, '5.2.1', '550 5.2.1 disabled',
                                  original_id=send_campaign(mlist, 4)))
    assert state(mlist, BART).state == 'hard'


def test_nothing_to_undo_is_a_clear_error(mailman):
    mlist = make_list()
    add_member(mlist, BART)
    result = mailman_command('undo', 'ant@example.com', BART)
    assert result.exit_code != 0
    assert 'Nothing to undo' in result.output
    # And an undo is not undone twice.
    dead_mailbox(mlist, samples.rfc3464(BART, '5.1.1',
                                        '550 5.1.1 user unknown'))
    assert mailman_command('undo', 'ant@example.com', BART).exit_code == 0
    again = mailman_command('undo', 'ant@example.com', BART)
    assert again.exit_code != 0 and 'was already undone' in again.output
