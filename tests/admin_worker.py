"""One of two owners acting at once (test_concurrency.py).

    python admin_worker.py CONFIG LIST GO-FILE undo EMAIL
    python admin_worker.py CONFIG LIST GO-FILE release|discard HOLD-ID

Initialises Mailman from CONFIG (the test site's), says 'ready', waits for
GO-FILE to appear (so that both workers act together), then does what it
is told in one transaction, as one REST worker would, and prints
'ok', 'conflict: ...', 'not found: ...' or the error.
"""

import os
import sys
import time

from mailman.core.initialize import initialize


def main(config_file, list_spec, go_file, action, what):
    initialize(config_file)
    from mailman.config import config

    from mailman_bouncerules.app.admin import (
        AdminError,
        ConflictError,
        ListAdmin,
        NotFoundError,
        find_list,
    )
    admin = ListAdmin(find_list(list_spec))
    print('ready', flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        if action == 'undo':
            admin.undo(what, 'owner-%d' % os.getpid())
        else:
            admin.decide_hold(int(what), action == 'release',
                              'owner-%d' % os.getpid())
        config.db.commit()
        print('ok', flush=True)
    except AdminError as error:
        config.db.abort()
        kind = ('conflict' if isinstance(error, ConflictError) else
                'not found' if isinstance(error, NotFoundError)
                else 'bad request')
        print('%s: %s' % (kind, error), flush=True)
    except Exception as error:
        config.db.abort()
        print('error: %r' % error, flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:6])
