"""pytest bridge to Mailman's test layers.

Most tests need no Mailman at all.  Tests that take the `mailman` fixture
run inside Mailman's ConfigLayer with the plugin enabled: the plugin's
configuration must be in place before the layer initialises Mailman,
hence the environment variable set at import time.
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
os.environ.setdefault('MAILMAN_EXTRA_TESTING_CFG',
                      str(HERE / 'plugin-testing.cfg'))


@pytest.fixture(scope='session')
def mailman_site():
    """Mailman initialised once per session, in its test configuration."""
    from mailman.testing.layers import ConfigLayer
    ConfigLayer.setUp()
    yield
    ConfigLayer.tearDown()


@pytest.fixture
def mailman(mailman_site):
    """One test inside the layer; the world is reset afterwards."""
    from mailman.config import config
    from mailman.testing.layers import ConfigLayer, MockAndMonkeyLayer
    ConfigLayer.testSetUp()
    yield config
    config.db.abort()
    ConfigLayer.testTearDown()
    MockAndMonkeyLayer.testTearDown()
