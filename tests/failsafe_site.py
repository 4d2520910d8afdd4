"""A site whose plugin cannot start (test_failsafe.py).

    python failsafe_site.py FOLDER

Writes a mailman.cfg with the plugin's lines and a settings file naming a
rule file with an invalid rule, then runs one post and one bounce through
Mailman's runners and prints what happened as JSON.
"""

import json
import sys
from pathlib import Path

from aiosmtpd.controller import Controller

from mailman_bouncerules.tools.demo import Sink, free_port, site_config
from mailman_bouncerules.tools.testing import samples


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'rules.cfg').write_text(
        '[rule.broken]\nclassification: hard\naction: explode\n')
    (folder / 'settings.cfg').write_text(
        '[bouncerules]\nrules_file: %s\n' % (folder / 'rules.cfg'))
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname='127.0.0.1', port=port)
    controller.start()
    try:
        text = site_config(folder, port).replace(
            'configuration: python:mailman_bouncerules.config.bouncerules',
            'configuration: %s' % (folder / 'settings.cfg'))
        (folder / 'mailman.cfg').write_text(text)
        print(json.dumps(run(folder / 'mailman.cfg', sink)))
    finally:
        controller.stop()


def run(config_file, sink):
    from mailman.core.initialize import initialize
    initialize(str(config_file))
    from mailman.app.inject import inject_text
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.domain import IDomainManager
    from mailman.model.bounce import BounceEvent
    from mailman.runners.incoming import IncomingRunner
    from mailman.runners.outgoing import OutgoingRunner
    from mailman.runners.pipeline import PipelineRunner
    from mailman.testing.helpers import get_queue_messages, make_testable_runner
    from zope.component import getUtility

    from mailman_bouncerules.runners.bounce import RulesBounceRunner
    from mailman_bouncerules.tools.demo import mailman_message, subscribe_verified

    getUtility(IDomainManager).add('example.com')
    mlist = create_list('ant@example.com')
    subscribe_verified(mlist, ('anne@example.com', 'bart@example.org'))
    inject_text(mlist, 'From: anne@example.com\nTo: ant@example.com\n'
                'Subject: hi\nMessage-ID: <p1@example.com>\n\nHello.\n')
    for runner_class, name in ((IncomingRunner, 'in'),
                               (PipelineRunner, 'pipeline'),
                               (OutgoingRunner, 'out')):
        make_testable_runner(runner_class, name).run()
        config.db.commit()
    config.switchboards['bounces'].enqueue(mailman_message(samples.rfc3464(
        'bart@example.org', '5.1.1', '550 5.1.1 user unknown',
        original_id='<p1@example.com>')), listid=mlist.list_id)
    runner = make_testable_runner(RulesBounceRunner, 'bounces')
    runner.run()
    runner._do_periodic()
    config.db.commit()
    return {
        'delivered': sorted(rcpt for env in sink.messages
                            for rcpt in env.rcpt_tos),
        'stock_events': config.db.store.query(BounceEvent).count(),
        'shunted': len(get_queue_messages('shunt')),
        'member': mlist.members.get_member('bart@example.org') is not None,
    }


if __name__ == '__main__':
    main(sys.argv[1])
