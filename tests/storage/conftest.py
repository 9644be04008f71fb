"""Storage fixtures: a database with no schema yet, for migration tests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from plugin.storage.db import get_engine
from tests.helpers import PG_ADMIN_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """A database with no schema yet, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        yield url
        get_engine(url).dispose()
        return
    from tests.helpers import PG_AVAILABLE

    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 does not answer")
    name = f"mentorship_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
