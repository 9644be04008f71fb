"""Every table, each forum's own included: the metadata migrations, tests and checks need.

Storage declares the shared tables; a forum folder declares its own on the same Base and
names them in its ForumKind. Importing the registry imports them, so `METADATA` is complete
here, whichever module came first.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from plugin.forums.registry import KINDS
from plugin.storage import expertise, requests, webhooks  # noqa: F401 - declare their tables on Base
from plugin.storage.models import Base

METADATA: MetaData = Base.metadata
# Loaded through the registry; a forum table missing here would be missing from migrations.
FORUM_TABLES: tuple[str, ...] = tuple(
    model.__tablename__ for kind in KINDS.values() for model in kind.tables
)
