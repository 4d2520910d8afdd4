"""Alembic environment: runs on the connection database.py hands over."""

from typing import Any

from alembic import context

from mailman_bouncerules.model.database import VERSION_TABLE
from mailman_bouncerules.model.tables import Base


def include_name(name: str | None, type_: str,
                 parent_names: Any) -> bool:
    """Only the plugin's tables are ours to compare or migrate."""
    return type_ != 'table' or (name or '').startswith('bouncerules_')


context.configure(
    connection=context.config.attributes['connection'],
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    render_as_batch=True,           # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
