"""Fixtures: every database test runs on SQLite and, when it answers, on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from plugin.config import Config
from plugin.forums.tables import METADATA
from plugin.storage import secretbox
from plugin.storage.db import (
    dispose_engines,
    ensure_schema,
    get_engine,
    session_factory,
    transaction,
)
from plugin.storage.models import Forum
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.zulip import FakeZulip
from tests.fakes.zulip_state import ADMIN
from tests.helpers import (
    LOOPBACK,
    PG_ADMIN_URL,
    PG_AVAILABLE,
    add_test_forum,
    serve_checked,
    work,
)
from tests.ingest_support import add_zulip_forum
from tests.zulip.support import BOT, MAYA, SAM


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


@pytest.fixture
def zforum(sessions) -> Forum:
    """A Zulip forum named `zulip` whose outgoing webhook uses the fixtures' token."""
    return add_zulip_forum(sessions)


@pytest.fixture
def fake() -> Iterator[FakeDiscourse]:
    """The community's Discourse, served and checked against its spec afterwards.

    alice (5) administers it; sam (41) and maya (42) are members of `community` (40) with
    `mentors` (43) and `mentees` (44) still empty.
    """
    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    fake.add_user("alice", id=5, name="Alice Admin", admin=True)
    fake.add_user("sam", id=41, name="Sam Rivera", email="sam@example.com")
    fake.add_user("maya", id=42, name="Maya Lee", email="maya@example.com")
    fake.add_group("community", id=40, members=["sam", "maya", "alice"])
    fake.add_group("mentors", id=43)
    fake.add_group("mentees", id=44)
    with serve_checked(fake):
        yield fake


@pytest.fixture
def live_forum(sessions, forum, fake) -> Forum:
    """The `forum` fixture, pointed at the fake Discourse."""
    with transaction(sessions) as session:
        session.get(Forum, forum.id).url = fake.url
    return forum


@pytest.fixture
def zulip() -> Iterator[FakeZulip]:
    """The community's Zulip, served and checked against zulip.yaml afterwards.

    alice (5) administers it; sam (41) and maya (42) are in `community` (40) with
    `mentors` (43) and `mentees` (44) still empty.
    """
    zulip = FakeZulip(api_key="test-key", bot_email=BOT)
    zulip.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    zulip.add_user(SAM, id=41, full_name="Sam Rivera")
    zulip.add_user(MAYA, id=42, full_name="Maya Lee")
    zulip.add_group("community", id=40, members=[SAM, MAYA, "alice@example.com"])
    zulip.add_group("mentors", id=43)
    zulip.add_group("mentees", id=44)
    with serve_checked(zulip):
        yield zulip


@pytest.fixture
def zulip_story(config, sessions, zulip, cli):
    """The `career` program on the community's Zulip, added and opened through the CLI."""
    forum = cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", zulip.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", zulip.webhook_token,
    )  # fmt: skip
    assert forum["webhook_url"] == "http://127.0.0.1:8000/webhooks/zulip/zulip"
    program = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "career",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--cadence-days", "1",
    )  # fmt: skip
    cli("program", "open", str(program["id"]))
    work(config, sessions)  # registers the event queue
    return program
