"""Running the migrations to a given revision, as tests of one migration need."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from plugin.storage.db import MIGRATIONS, get_engine


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database at `url` to `revision`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with get_engine(url).begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)
