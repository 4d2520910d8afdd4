"""One of several processes handling bounces at once (test_parallel.py).

    python parallel_worker.py CONFIG LIST FILE...

Initialises Mailman from CONFIG (the test site's), then handles each bounce
file for LIST in its own transaction, as a bounce runner slice would.
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


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
