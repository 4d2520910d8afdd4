"""Small database helpers that work the same on SQLite and PostgreSQL."""

import functools
from typing import Any, TypeVar

from public import public
from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

T = TypeVar('T')


@functools.cache
def _insert(table: Table, columns: tuple[str, ...], conflict: str) -> TextClause:
    """INSERT INTO `table` (`columns`) ... ON CONFLICT `conflict`, as text
    both databases read alike.  SQLAlchemy compiles its dialects' ON
    CONFLICT statements afresh for every call (they have no cache key);
    a text statement is compiled once, its parameters typed as the
    columns are (dates stored as the ORM stores them)."""
    names = ', '.join(columns)
    values = ', '.join(':' + column for column in columns)
    return text('INSERT INTO %s (%s) VALUES (%s) ON CONFLICT %s' % (
        table.name, names, values, conflict)).bindparams(*(
            bindparam(column, type_=table.c[column].type)
            for column in columns))


@public
def insert_ignoring_duplicates(connection: Session | Connection,
                               table: Any, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if a row was inserted.

    Safe when two processes insert the same key at once: the second waits
    for the first to commit and then inserts nothing, instead of failing
    and losing the work it was part of.
    """
    statement = _insert(table.__table__, tuple(values), 'DO NOTHING')
    result = connection.execute(statement, values)
    return result.rowcount == 1     # type: ignore[attr-defined]


@public
def upsert_locked(session: Session, table: type[T], values: dict[str, Any],
                  key: tuple[str, ...]) -> T:
    """The row of `table` whose `key` columns have `values`, inserted with
    `values` if there is none, locked for the rest of the transaction, in
    one statement: INSERT ... ON CONFLICT DO UPDATE ... RETURNING.

    Safe when two processes ask at once: the second waits for the first
    to commit (the conflict's update takes the row lock on PostgreSQL; on
    SQLite the write takes the database's lock).
    """
    columns: Table = table.__table__  # type: ignore[attr-defined]
    # The columns named, in the model's order: a text statement's result
    # is matched to them by position, and a table that migrations grew
    # may hold its columns in another order than RETURNING * would give.
    statement = _insert(columns, tuple(values), '(%s) DO UPDATE SET %s = '
                        'excluded.%s RETURNING %s' % (
                            ', '.join(key), key[0], key[0], ', '.join(
                                column.name for column in columns.c)))
    return session.scalars(
        select(table).from_statement(statement.columns(*columns.c)),
        values, execution_options={'populate_existing': True}).one()


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
