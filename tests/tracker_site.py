"""The tracker as Mailman runs it, in a process of its own (test_tracking.py).

    python tracker_site.py FOLDER [READ_TIMEOUT]

Starts a throwaway site, installs the runner's signal handlers as Mailman's
master does, prints the port it listens on, and serves until a signal.  A
READ_TIMEOUT (seconds) replaces the runner's deadline for a request.
"""

import sys
from pathlib import Path

from mailman_bouncerules.tools.demo import free_port, site_config


def main(folder, read_timeout=None):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / 'settings.cfg').write_text(
        '[bouncerules]\ntracker_host: 127.0.0.1\ntracker_port: %d\n' % port)
    text = site_config(folder, free_port()).replace(
        'configuration: python:mailman_bouncerules.config.bouncerules',
        'configuration: %s' % (folder / 'settings.cfg'))
    (folder / 'mailman.cfg').write_text(
        text + '\n[runner.bouncetrack]\nclass: '
        'mailman_bouncerules.runners.tracker.TrackerRunner\npath:\n')
    from mailman.core.initialize import initialize
    initialize(str(folder / 'mailman.cfg'))
    from mailman_bouncerules.runners import tracker
    if read_timeout is not None:
        tracker.READ_TIMEOUT = read_timeout
        tracker._QuietHandler.timeout = read_timeout
    runner = tracker.TrackerRunner('bouncetrack')
    runner.set_signals()
    print(port, flush=True)
    runner.run()
    print('stopped', flush=True)


if __name__ == '__main__':
    main(sys.argv[1], *(float(value) for value in sys.argv[2:3]))
