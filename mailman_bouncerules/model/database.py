"""Creating and upgrading the plugin's tables, safely from many processes.

Every Mailman process (the master, each runner, every `mailman` command)
runs the plugin's post_hook, often at the same moment.  So schema work
happens under a file lock, and it is tracked in the plugin's own alembic
version table, leaving Mailman's `alembic_version` alone.

A database without the plugin's version table gets the current schema from
the models and is stamped at the newest revision; one with it is upgraded
through the revisions in migrations/versions.
"""

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flufl.lock import Lock
from mailman.config import config
from public import public
from sqlalchemy.engine import Connection

from mailman_bouncerules.model.tables import Base

VERSION_TABLE = 'bouncerules_alembic_version'
LOCK_NAME = 'bouncerules-db.lck'


@public
def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option('script_location', 'mailman_bouncerules.model:migrations')
    cfg.attributes['connection'] = connection
    return cfg


@public
def setup_tables() -> None:
    """Bring the plugin's tables to the newest schema."""
    with Lock(os.path.join(config.LOCK_DIR, LOCK_NAME)):
        with config.db.engine.begin() as connection:
            context = MigrationContext.configure(
                connection, opts={'version_table': VERSION_TABLE})
            cfg = alembic_config(connection)
            if context.get_current_revision() is None:
                Base.metadata.create_all(connection, checkfirst=True)
                command.stamp(cfg, 'head')
            else:
                command.upgrade(cfg, 'head')
