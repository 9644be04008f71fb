"""Fixtures: every database test runs on SQLite and, when it answers, on PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

from plugin.config import Config
from plugin.forums.tables import METADATA
from plugin.storage import secretbox
from plugin.storage.db import dispose_engines, ensure_schema, get_engine, session_factory
from tests.helpers import LOOPBACK, add_test_forum

PG_ADMIN_URL = os.environ.get(
    "MENTORSHIP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


PG_AVAILABLE = _pg_answers()


@pytest.fixture(scope="session")
def pg_database_url():
    """A throwaway PostgreSQL database for this test session, migrated once."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 does not answer")
    name = f"mentorship_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    ensure_schema(get_engine(url))
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    tables = ", ".join(t.name for t in METADATA.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mentorship.db'}"
        ensure_schema(get_engine(url))
        yield url
        get_engine(url).dispose()
    else:
        url = request.getfixturevalue("pg_database_url")
        _truncate(url)
        yield url


@pytest.fixture
def config(database_url) -> Config:
    config = Config(
        database_url=database_url,
        secret_key="test-secret-key",
        base_url="http://127.0.0.1:8000",
        lease_seconds=30,
        allowed_internal_hosts=LOOPBACK,
    )
    secretbox.configure(config)  # as every entry point does: Forum secrets are encrypted
    return config


@pytest.fixture(autouse=True)
def _no_keyring_between_tests():
    """Each test configures its own keys, so none leans on a keyring another left."""
    yield
    secretbox.reset()


@pytest.fixture
def sessions(config):
    return session_factory(get_engine(config.database_url))


@pytest.fixture
def app(config):
    from plugin.web.app import create_app

    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def forum(sessions):
    """A connected Discourse forum named `forum` whose bot is mentor_bot."""
    return add_test_forum(sessions)


@pytest.fixture(autouse=True)
def _fresh_forum_cache():
    """Receivers cache forums for a few seconds; every test starts with none."""
    from webhooks.discourse import receiver

    receiver._FORUMS.clear()
    yield
    receiver._FORUMS.clear()


@pytest.fixture
def cli(config, monkeypatch, capsys):
    """Run `mentorship ... --json` in-process against this test's database; the document."""
    from plugin.cli import run

    monkeypatch.setenv("MENTORSHIP_DATABASE_URL", config.database_url)
    monkeypatch.setenv("MENTORSHIP_SECRET_KEY", config.secret_key)
    monkeypatch.setenv("MENTORSHIP_BASE_URL", config.base_url)
    monkeypatch.setenv("MENTORSHIP_ALLOWED_INTERNAL_HOSTS", ",".join(config.allowed_internal_hosts))

    def call(*argv: str) -> dict:
        capsys.readouterr()
        code = run([*argv, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)

    return call
