"""Small database helpers that work the same on SQLite and PostgreSQL."""

from mailman.config import config
from public import public
from sqlalchemy.dialects import postgresql, sqlite


@public
def insert_ignoring_duplicates(connection, table, **values):
    """INSERT ... ON CONFLICT DO NOTHING; True if a row was inserted.

    Safe when two processes insert the same key at once: the second waits
    for the first to commit and then inserts nothing, instead of failing
    and losing the work it was part of.
    """
    dialect = config.db.engine.dialect.name
    insert = postgresql.insert if dialect == 'postgresql' else sqlite.insert
    result = connection.execute(
        insert(table.__table__).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


@public
def normalize_message_id(value):
    """'<abc@example.com>' and 'abc@example.com' are the same Message-ID."""
    if not value:
        return None
    value = ' '.join(str(value).split())
    if value.startswith('<') and value.endswith('>'):
        value = value[1:-1].strip()
    return value or None
