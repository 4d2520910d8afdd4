"""What a list's own settings say, read once for all a bounce needs."""

from dataclasses import dataclass

from public import public
from sqlalchemy.orm import Session

from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.model.tables import ListSettings


@public
@dataclass(frozen=True)
class ListPolicy:
    """A list's shadow mode and confirmation threshold: its own settings
    row where it has one, the site's defaults elsewhere."""

    shadow: bool
    confirm_after: int

    @classmethod
    def of(cls, store: Session, list_id: str) -> 'ListPolicy':
        row = store.get(ListSettings, list_id)
        site = settings()
        return cls(
            shadow=site.shadow_mode if row is None or row.shadow is None
            else row.shadow,
            confirm_after=row.confirm_after if row is not None
            and row.confirm_after else site.confirm_after)
