"""A Mailman core with the plugin for the panel's tests, in its own process.

    python core_site.py FOLDER [--without-plugin]

Makes a throwaway site (SQLite, REST on a free port, one gunicorn worker),
seeds list ant@example.com with an owner and members in every state and a
circuit-breaker hold, prints the REST port and serves REST only until
SIGTERM (no queue runner: what the tests change goes through REST).
`--without-plugin`: a core as a site has it before installing the plugin
(the list and its owner only).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from mailman_bouncerules.tools.demo import free_port, site_config

OWNER = 'owner@example.com'
BART, CRIS, DAVE, ERIN, FRAN = (
    'bart@example.org', 'cris@example.org', 'dave@example.org',
    'erin@example.org', 'fran/ops+list@example.org')
BIG = ['user%02d@bigmail.example' % number for number in range(30)]
OTHER_BIG = ['user%02d@othermail.example' % number for number in range(30)]


def write_config(folder, with_plugin=True):
    port = free_port()
    (folder / 'settings.cfg').write_text(
        # The breaker's daily cap is out of the way of the seeded removals.
        '[bouncerules]\ndaily_cap_min: 1000\n')
    text = site_config(folder, free_port()).replace(
        'configuration: python:mailman_bouncerules.config.bouncerules',
        'configuration: %s' % (folder / 'settings.cfg'))
    if not with_plugin:
        # The site's own lines only (and no MTA alias files).
        text = text[:text.index('[plugin.bouncerules]')] + (
            '[mta]\nincoming: mailman.mta.null.NullMTA\n')
    (folder / 'mailman.cfg').write_text(text + (
        '\n[webservice]\nhostname: 127.0.0.1\nport: %d\nworkers: 1\n'
        'admin_user: restadmin\nadmin_pass: restpass\n'
        '\n[devmode]\nenabled: yes\nrecipient: nobody@example.com\n'
        % port))
    return port


def seed(with_plugin=True):
    from mailman.config import config
    from mailman.interfaces.domain import IDomainManager
    from mailman.interfaces.member import MemberRole
    from mailman.interfaces.usermanager import IUserManager
    from mailman.utilities.datetime import now
    from sitehelpers import (
        add_member,
        bounce,
        dead_mailbox,
        make_list,
        refused,
        send_campaign,
    )
    from zope.component import getUtility

    from mailman_bouncerules.tools.testing import samples

    getUtility(IDomainManager).add('example.com')
    mlist = make_list('ant@example.com')
    mlist.bounce_notify_owner_on_removal = False
    users = getUtility(IUserManager)
    owner = users.create_address(OWNER)
    owner.verified_on = now()
    mlist.subscribe(owner, MemberRole.owner)
    for email in (BART, CRIS, DAVE, ERIN, FRAN):
        add_member(mlist, email)
    if not with_plugin:
        config.db.commit()
        return
    # Bart's mailbox is disabled: three posts, three hard bounces.
    for number in (1, 2, 3):
        campaign = send_campaign(mlist, number, recipients=[
            BART, CRIS, DAVE, ERIN, FRAN])
        dead_mailbox(mlist, samples.rfc3464(
            BART, '5.2.1', '550 5.2.1 <%s>: mailbox disabled' % BART,
            original_id=campaign))
    # Fran: one hard bounce; Cris: over quota; Erin: no such user.
    dead_mailbox(mlist, samples.rfc3464(
        FRAN, '5.2.1', '550 5.2.1 mailbox disabled <b>bold</b>',
        original_id=campaign))
    bounce(mlist, samples.rfc3464(CRIS, '4.2.2', '452 4.2.2 over quota',
                                  action='delayed'))
    dead_mailbox(mlist, samples.rfc3464(ERIN, '5.1.1',
                                        '550 5.1.1 <%s>: user unknown' % ERIN))
    # A whole domain refusing one post, twice: the breaker holds each.
    for number, domain in ((4, BIG), (5, OTHER_BIG)):
        for email in domain:
            add_member(mlist, email)
        send_campaign(mlist, number)
        for email in domain[:20]:
            refused(mlist, email)
    config.db.commit()


def main(folder, *options):
    with_plugin = '--without-plugin' not in options
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = write_config(folder, with_plugin)
    from mailman.core.initialize import initialize
    initialize(str(folder / 'mailman.cfg'))
    seed(with_plugin)
    from mailman.runners.rest import RESTRunner
    runner = RESTRunner('rest')
    runner.set_signals()
    print(port, flush=True)
    runner.run()


if __name__ == '__main__':
    main(*sys.argv[1:])
