"""pytest bridge to Mailman's test layers.

Most tests need no Mailman at all.  Tests that take the `mailman` fixture
run inside Mailman's ConfigLayer with the plugin enabled: the plugin's
configuration must be in place before the layer initialises Mailman,
hence the environment variable set at import time.
"""

import atexit
import os
import socket
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# The plugin enabled exactly as etc/mailman-bouncerules.cfg tells admins to,
# on the database BOUNCERULES_TEST_DATABASE names (SQLite by default).
ADMIN_LINES = (HERE.parent / 'etc' / 'mailman-bouncerules.cfg').read_text()
DATABASE_URL = os.environ.get('BOUNCERULES_TEST_DATABASE', '')


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _testing_configuration():
    text = ADMIN_LINES
    if DATABASE_URL.startswith('postgresql'):
        text += ('\n[database]\n'
                 'class: mailman.database.postgresql.PostgreSQLDatabase\n'
                 'url: %s\n' % DATABASE_URL)
    handle, path = tempfile.mkstemp(prefix='bouncerules-', suffix='.cfg')
    with os.fdopen(handle, 'w') as file:
        file.write(text)
    atexit.register(os.remove, path)
    return path


os.environ.setdefault('MAILMAN_EXTRA_TESTING_CFG', _testing_configuration())

try:
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
except ImportError:     # the panel's own test environments have none
    pass
else:
    # No property test may depend on the machine's speed: CI shares two
    # cores, and Hypothesis's per-example deadline and "input generation is
    # slow" health check measure wall time (the Debian unstable chroot
    # failed on the latter while another phase ran beside it).
    hypothesis_settings.register_profile(
        'bouncerules', deadline=None,
        suppress_health_check=[HealthCheck.too_slow])
    hypothesis_settings.load_profile('bouncerules')


@pytest.fixture(scope='session')
def mailman_site():
    """Mailman initialised once per session, in its test configuration."""
    from mailman.config import config
    from mailman.testing.layers import ConfigLayer
    ConfigLayer.setUp()
    # Mailman's test configuration has fixed ports (SMTP 9025, LMTP 9024,
    # REST 9001): another Mailman on the machine would collide with them.
    config.push('free ports', '[mta]\nsmtp_port: %d\nlmtp_port: %d\n'
                '[webservice]\nport: %d\n'
                % (_free_port(), _free_port(), _free_port()))
    yield
    config.pop('free ports')
    ConfigLayer.tearDown()


@pytest.fixture
def mailman(mailman_site):
    """One test inside the layer; the world is reset afterwards."""
    from mailman.config import config
    from mailman.testing.layers import ConfigLayer, MockAndMonkeyLayer

    from mailman_bouncerules.tools.testing.database import delete_all_rows
    ConfigLayer.testSetUp()
    yield config
    config.db.abort()
    delete_all_rows(config.db.store)    # Mailman's reset leaves them
    config.db.commit()
    ConfigLayer.testTearDown()
    MockAndMonkeyLayer.testTearDown()


@pytest.fixture(scope='session')
def smtp_server(mailman_site):
    """Mailman's fake SMTP server on 127.0.0.1 ([mta] smtp_port)."""
    from mailman.testing.layers import SMTPLayer
    SMTPLayer.setUp()
    yield SMTPLayer.smtpd
    SMTPLayer.tearDown()


@pytest.fixture
def smtp(mailman, smtp_server):
    from mailman.testing.layers import SMTPLayer
    yield smtp_server
    SMTPLayer.testTearDown()
