"""One of several processes handling bounces at once (test_parallel.py).

    python parallel_worker.py CONFIG LIST FILE...
    python parallel_worker.py CONFIG --slice N OF

Initialises Mailman from CONFIG (the test site's), then handles each bounce
file for LIST in its own transaction; or runs the bounce runner as slice N
of OF over the site's bounces queue until its share is empty, batches and
all.
"""

import sys

from mailman.core.initialize import initialize


def main(config_file, list_spec, files):
    initialize(config_file)
    from email import message_from_binary_file

    from mailman.config import config
    from mailman.email.message import Message
    from mailman.interfaces.listmanager import IListManager
    from zope.component import getUtility

    from mailman_bouncerules.app.bounces import BounceHandler
    mlist = getUtility(IListManager).get(list_spec)
    handler = BounceHandler()
    for path in files:
        with open(path, 'rb') as file:
            msg = message_from_binary_file(file, Message)
        try:
            handler.handle(mlist, msg)
            config.db.commit()
        except Exception:
            config.db.abort()
            raise


def run_slice(config_file, number, count):
    initialize(config_file)
    from mailman.config import config

    from mailman_bouncerules.runners.bounce import RulesBounceRunner
    config.push('slices', '[runner.bounces]\ninstances: %d\n' % count)

    class SliceRunner(RulesBounceRunner):
        def _do_periodic(self):
            super()._do_periodic()
            self._stop = not self.switchboard.files

    SliceRunner('bounces', number).run()


if __name__ == '__main__':
    if sys.argv[2] == '--slice':
        run_slice(sys.argv[1], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main(sys.argv[1], sys.argv[2], sys.argv[3:])
