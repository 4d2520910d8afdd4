"""Small database helpers that work the same on SQLite and PostgreSQL."""

from typing import Any

from mailman.config import config
from public import public
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


@public
def insert_ignoring_duplicates(connection: Session | Connection,
                               table: Any, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if a row was inserted.

    Safe when two processes insert the same key at once: the second waits
    for the first to commit and then inserts nothing, instead of failing
    and losing the work it was part of.
    """
    dialect = config.db.engine.dialect.name
    insert = postgresql.insert if dialect == 'postgresql' else sqlite.insert
    result = connection.execute(
        insert(table.__table__).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1     # type: ignore[attr-defined]


@public
def lock_rows(session: Session, table: Any, **key: Any) -> None:
    """Take the write lock on the rows `key` names before reading them.

    A no-op UPDATE: on PostgreSQL it locks the rows (a second caller waits
    for the first to commit, then reads what it did); on SQLite it takes
    the database's write lock, which a plain SELECT (and so SELECT ... FOR
    UPDATE) does not.
    """
    column = next(iter(key))
    session.execute(update(table).filter_by(**key).values(
        {column: getattr(table, column)}))


# RFC 5322's line limit; the columns that hold a Message-ID are this long.
MESSAGE_ID_LIMIT = 998


@public
def normalize_message_id(value: object) -> str | None:
    """'<abc@example.com>' and 'abc@example.com' are the same Message-ID.

    NULs and other control characters are dropped and the length bounded,
    so that no post is held back by the plugin's bookkeeping (PostgreSQL
    refuses NULs in text).
    """
    if not value:
        return None
    value = ''.join(ch for ch in str(value)[:4 * MESSAGE_ID_LIMIT]
                    if ch >= ' ' or ch in '\t')
    value = ' '.join(value.split())
    if value.startswith('<') and value.endswith('>'):
        value = value[1:-1].strip()
    return value[:MESSAGE_ID_LIMIT] or None
