"""Try the Bounces tab by hand, in one command, from a source checkout:

    .venv/bin/python web/trial.py [FOLDER] [--port N]

Starts a throwaway Mailman core with the plugin (REST only, SQLite, in
FOLDER, default a new temporary folder) and seeds list ant@example.com with
members in every state and two circuit-breaker holds, as the panel's tests
do; then a minimal Postorius site with the tab (web/testsite), its
database migrated and an owner who can log in, served styled on
127.0.0.1 (`runserver --insecure` serves Postorius's static files).  It
prints the address and the login, and runs until Ctrl-C, which stops both.
Needs the test installation (`pip install -e '.[test]'`): core, Postorius
and the panel in one environment.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
CORE_SITE = HERE.parent / 'tests' / 'web' / 'core_site.py'
OWNER, PASSWORD = 'owner@example.com', 'try-the-panel'
# Seeding the list takes the core a few seconds; a slow machine more.
START_TIMEOUT = 180
# The Python that runs the core: this one, or one named here when the web
# side is installed apart (as the panel's own tests do it).
CORE_PYTHON = os.environ.get('BOUNCERULES_CORE_PYTHON', sys.executable)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def start_core(folder: Path) -> tuple[subprocess.Popen, str]:
    """The seeded core, and its REST address once it answers."""
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    core = subprocess.Popen(
        [CORE_PYTHON, '-W', 'ignore', str(CORE_SITE), str(folder / 'core')],
        env=environment, stdout=subprocess.PIPE, text=True,
        stderr=open(folder / 'core.log', 'w'))
    port = (core.stdout.readline() if core.stdout else '').strip()
    if not port.isdigit():
        core.wait()
        raise SystemExit('the core did not start: see %s' % (
            folder / 'core.log'))
    url = 'http://127.0.0.1:%s' % port
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            requests.get(url + '/3.1/system/versions',
                         auth=('restadmin', 'restpass'), timeout=5
                         ).raise_for_status()
            return core, url
        except requests.RequestException:
            if core.poll() is not None or time.monotonic() > deadline:
                core.terminate()
                raise SystemExit('the core did not answer: see %s' % (
                    folder / 'core.log')) from None
            time.sleep(0.3)


def web_environment(folder: Path, core_url: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(HERE), os.environ.get('PYTHONPATH')])),
        DJANGO_SETTINGS_MODULE='testsite.settings',
        BOUNCERULES_WEB_DIR=str(folder), MAILMAN_REST_API_URL=core_url)


def prepare_web(environment: dict[str, str]) -> None:
    """The site's tables, and the owner's login (a verified address that
    owns the list in core)."""
    django_admin = [sys.executable, '-m', 'django']
    subprocess.run(django_admin + ['migrate', '--verbosity', '0'],
                   env=environment, check=True)
    subprocess.run(django_admin + ['shell', '-c', (
        'from django.contrib.auth.models import User\n'
        'from allauth.account.models import EmailAddress\n'
        'user = User.objects.create_user("owner", %r, %r)\n'
        'EmailAddress.objects.create(user=user, email=%r, verified=True, '
        'primary=True)\n') % (OWNER, PASSWORD, OWNER)],
        env=environment, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('folder', nargs='?', help='where the sites live')
    parser.add_argument('--port', type=int, default=0,
                        help='the panel\'s port (default: a free one)')
    arguments = parser.parse_args()
    folder = Path(arguments.folder or tempfile.mkdtemp(
        prefix='bouncerules-panel-'))
    folder.mkdir(parents=True, exist_ok=True)
    print('Starting a core with the plugin and a seeded list ...',
          flush=True)
    core, core_url = start_core(folder)
    try:
        environment = web_environment(folder, core_url)
        prepare_web(environment)
        port = arguments.port or free_port()
        print('\nThe Bounces tab: http://127.0.0.1:%d/postorius/lists/'
              'ant.example.com/bounces/\nLog in as owner, password %s '
              '(Ctrl-C stops both sites; they live in %s)\n'
              % (port, PASSWORD, folder), flush=True)
        web = subprocess.Popen([sys.executable, '-m', 'django', 'runserver',
                                '--insecure', '--noreload',
                                '127.0.0.1:%d' % port], env=environment)
        try:
            web.wait()
        finally:
            web.terminate()
            web.wait(timeout=30)
    except KeyboardInterrupt:
        pass
    finally:
        core.terminate()
        core.wait(timeout=30)


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM stops both sites as Ctrl-C does."""
    raise KeyboardInterrupt


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _interrupted)
    main()
