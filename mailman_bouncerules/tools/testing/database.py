"""What tests need of the plugin's tables and nothing else does."""

from sqlalchemy.orm import Session

from mailman_bouncerules.model.tables import Base


def delete_all_rows(store: Session) -> None:
    """Empty the plugin's tables (Mailman's test resets do not)."""
    for table in reversed(Base.metadata.sorted_tables):
        store.execute(table.delete())
