"""Secrets at rest (INTERFACE.md): encrypted in the database's files, SQLite files owner-only.

Issue 9, finding 4: forum API keys, webhook secrets and tokens, and DiscourseConnect secrets
used to sit in the database as plain text, in a world-readable SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, text

from plugin.cli import run
from plugin.config import Config
from plugin.forums.connections import add_forum
from plugin.storage import secretbox
from plugin.storage.db import get_engine, session_factory, transaction, upgrade
from plugin.storage.models import Forum
from plugin.web.app import create_app
from tests.helpers import LOOPBACK, discourse_request
from tests.storage.files_support import database_text
from tests.storage.migration_support import migrate

API_KEY = "apikey-7f3c-quokka-plain"
WEBHOOK_SECRET = "hooksecret-91ab-narwhal-plain"
CONNECT_SECRET = "connect-55de-axolotl-plain"
ZULIP_TOKEN = "zuliptoken-0c1d-pangolin-plain"
ZULIP_KEY = "zulipkey-a2b3-okapi-plain"
PLAIN = (API_KEY, WEBHOOK_SECRET, CONNECT_SECRET, ZULIP_TOKEN, ZULIP_KEY)
OLD_KEY, NEW_KEY = "the-old-service-key", "the-new-service-key"


def add_both_forums(cli) -> None:
    """A Discourse forum with all three secrets and a Zulip one, added as an operator does."""
    where = ("--url", "http://127.0.0.1:9", "--no-check")  # nothing answers there
    cli("forum", "add", "--kind", "discourse", "--name", "disc", *where, "--api-key", API_KEY,
        "--api-username", "mentor_bot", "--webhook-secret", WEBHOOK_SECRET,
        "--connect-secret", CONNECT_SECRET)  # fmt: skip
    cli("forum", "add", "--kind", "zulip", "--name", "zul", *where, "--api-key", ZULIP_KEY,
        "--bot-email", "bot@zul.example", "--webhook-token", ZULIP_TOKEN)  # fmt: skip


def stored_secrets(url: str) -> list[str]:
    """The secret columns exactly as the database holds them."""
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT api_key, webhook_secret, connect_secret FROM forums"))
        return [value for row in rows for value in row if value is not None]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def use_keys(monkeypatch, current: str, *previous: str) -> None:
    monkeypatch.setenv("MENTORSHIP_SECRET_KEY", current)
    monkeypatch.setenv("MENTORSHIP_PREVIOUS_SECRET_KEYS", ",".join(previous))


def forum_secrets(sessions) -> dict[str, tuple]:
    with sessions() as session:
        forums = session.execute(select(Forum)).scalars()
        return {f.name: (f.api_key, f.webhook_secret, f.connect_secret) for f in forums}


EXPECTED = {
    "disc": (API_KEY, WEBHOOK_SECRET, CONNECT_SECRET),
    "zul": (ZULIP_KEY, ZULIP_TOKEN, None),
}


# -- encrypted at rest ------------------------------------------------------------------------


def test_forum_secrets_are_not_in_the_database_files_in_plain_text(cli, config, sessions):
    add_both_forums(cli)
    assert forum_secrets(sessions) == EXPECTED  # Python code still sees plain str
    stored = stored_secrets(config.database_url)
    assert len(stored) == 5 and all(value.startswith("enc:v1:") for value in stored)
    everything = database_text(config.database_url)
    for secret in PLAIN:
        assert secret.encode() not in everything, secret


def test_a_secret_changed_on_the_admin_pages_is_stored_encrypted_too(forum, sessions, config):
    with transaction(sessions) as session:
        session.get(Forum, forum.id).connect_secret = CONNECT_SECRET
    assert forum_secrets(sessions)["forum"][2] == CONNECT_SECRET
    assert CONNECT_SECRET.encode() not in database_text(config.database_url)


def test_the_receivers_core_select_sees_the_decrypted_secret(forum, client, config):
    body, headers = discourse_request("post__post_created")
    assert client.post("/webhooks/discourse/forum", data=body, headers=headers).status_code == 200


def test_secrets_unconfigured_are_a_clear_error_not_plain_text(sessions, config):
    secretbox.reset()
    with pytest.raises(Exception, match="secret storage is not configured"):
        with transaction(sessions) as session:
            add_forum(session, kind="discourse", name="f", url="http://127.0.0.1:9",
                      allowed_hosts=LOOPBACK,
                      api_key=API_KEY, bot_user="b", webhook_secret=WEBHOOK_SECRET)  # fmt: skip


def test_the_derived_key_is_not_the_link_signing_key():
    derived = secretbox.derive_key(OLD_KEY)
    assert OLD_KEY.encode() not in derived and derived != secretbox.derive_key(NEW_KEY)
    ring = secretbox.Keyring(OLD_KEY)
    sealed = ring.seal(API_KEY)
    assert sealed.startswith("enc:v1:") and ring.unseal(sealed) == API_KEY
    assert ring.seal(API_KEY) != sealed  # a fresh IV each time: equal secrets look unrelated
    assert ring.unseal(API_KEY) == API_KEY  # plain text from an older database is detected


# -- a wrong key ------------------------------------------------------------------------------


def test_a_wrong_key_is_a_one_line_cli_error_exit_1(cli, monkeypatch, capsys):
    add_both_forums(cli)
    use_keys(monkeypatch, "not-the-key")
    for argv in (("forum", "list"), ("db", "rotate-secrets", "--json")):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out) == (1, ""), err
        assert err.startswith("mentorship: error: ") and len(err.splitlines()) == 1
        assert "cannot be decrypted" in err and "Traceback" not in err


def test_receivers_answer_503_when_a_secret_cannot_be_decrypted(cli, config, caplog):
    add_both_forums(cli)
    client = create_app(replace(config, secret_key="not-the-key")).test_client()
    body, headers = discourse_request("post__post_created", secret=WEBHOOK_SECRET)
    discourse = client.post("/webhooks/discourse/disc", data=body, headers=headers)
    zulip = client.post("/webhooks/zulip/zul", json={"token": ZULIP_TOKEN, "message": {}})
    assert (discourse.status_code, zulip.status_code) == (503, 503)
    assert zulip.get_json()["response_not_required"] is True
    assert not any(s in caplog.text for s in PLAIN)


# -- rotation ---------------------------------------------------------------------------------


def test_rotate_secrets_reencrypts_under_the_new_key(cli, config, sessions, monkeypatch):
    use_keys(monkeypatch, OLD_KEY)
    add_both_forums(cli)
    use_keys(monkeypatch, NEW_KEY, OLD_KEY)
    assert cli("db", "rotate-secrets") == {"status": "ok", "rotated": 5}
    new_only, old_only = secretbox.Keyring(NEW_KEY), secretbox.Keyring(OLD_KEY)
    stored = stored_secrets(config.database_url)
    assert sorted(new_only.unseal(v) for v in stored) == sorted(PLAIN)
    for value in stored:
        with pytest.raises(secretbox.SecretError):
            old_only.unseal(value)
    use_keys(monkeypatch, NEW_KEY)  # the old key retired: everything still works
    assert [f["name"] for f in cli("forum", "list")["forums"]] == ["disc", "zul"]
    assert forum_secrets(sessions) == EXPECTED


def test_previous_key_still_decrypts_until_rotated(cli, config, monkeypatch, capsys):
    use_keys(monkeypatch, OLD_KEY)
    add_both_forums(cli)
    use_keys(monkeypatch, NEW_KEY)  # the key changed and the old one was not listed
    code, out, err = run_cli(capsys, "forum", "list", "--json")
    assert code == 1 and out == "" and "MENTORSHIP_PREVIOUS_SECRET_KEYS" in err
    use_keys(monkeypatch, NEW_KEY, "some-other-key", OLD_KEY)
    assert len(cli("forum", "list")["forums"]) == 2
    app = create_app(replace(config, secret_key=NEW_KEY, previous_secret_keys=(OLD_KEY,)))
    body, headers = discourse_request("post__post_created", secret=WEBHOOK_SECRET)
    answer = app.test_client().post("/webhooks/discourse/disc", data=body, headers=headers)
    assert answer.status_code == 200


def test_a_failed_rotation_changes_nothing(cli, config, monkeypatch, capsys):
    use_keys(monkeypatch, OLD_KEY)
    add_both_forums(cli)
    before = stored_secrets(config.database_url)
    use_keys(monkeypatch, NEW_KEY)  # forgot the previous key
    assert run_cli(capsys, "db", "rotate-secrets")[0] == 1
    assert stored_secrets(config.database_url) == before


# -- owner-only files -------------------------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual default, under which files come out world-readable
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_files_are_owner_only(tmp_path, umask_022, monkeypatch, capsys):
    db = tmp_path / "fresh.db"
    monkeypatch.setenv("MENTORSHIP_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.delenv("MENTORSHIP_SECRET_KEY", raising=False)
    assert run_cli(capsys, "forum", "list")[0] == 0
    files = [tmp_path / f"fresh.db{suffix}" for suffix in ("", "-wal", "-shm", ".secret-key")]
    try:
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        get_engine(f"sqlite:///{db}").dispose()


def test_an_existing_world_readable_sqlite_database_is_tightened_on_open(tmp_path, umask_022):
    db = tmp_path / "old.db"
    keep = sqlite3.connect(db)  # an older version's database, its WAL still there
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("CREATE TABLE t (x)")
    keep.commit()
    key_file = tmp_path / "old.db.secret-key"
    key_file.write_text("an-old-key-written-world-readable\n", encoding="ascii")
    files = [db, tmp_path / "old.db-wal", tmp_path / "old.db-shm"]
    for f in [*files, key_file]:
        f.chmod(0o644)
    url = f"sqlite:///{db}"
    try:
        get_engine(url)
        from plugin.config import load_config

        assert load_config({"MENTORSHIP_DATABASE_URL": url}).secret_key.startswith("an-old-key")
        assert {f.name: mode(f) for f in [*files, key_file]} == {
            f.name: 0o600 for f in [*files, key_file]
        }
    finally:
        keep.close()
        get_engine(url).dispose()


# -- migration --------------------------------------------------------------------------------


def insert_plain_forums(url: str) -> None:
    """Two forums as a database from before encryption holds them."""
    rows = [
        ("disc", "discourse", API_KEY, "mentor_bot", WEBHOOK_SECRET, CONNECT_SECRET),
        ("zul", "zulip", ZULIP_KEY, "bot@zul.example", ZULIP_TOKEN, None),
    ]
    with get_engine(url).begin() as conn:
        for name, kind, key, bot, secret, connect in rows:
            conn.execute(
                text(
                    "INSERT INTO forums (name, kind, url, api_key, bot_user, webhook_secret,"
                    " connect_secret, request_budget, created_at) VALUES (:n, :k,"
                    " 'http://127.0.0.1:9', :a, :b, :w, :c, 55, '2030-01-01 00:00:00')"
                ),
                {"n": name, "k": kind, "a": key, "b": bot, "w": secret, "c": connect},
            )


def test_migration_encrypts_existing_plaintext_secrets(empty_database_url, monkeypatch):
    url = empty_database_url
    migrate(url, "0005")
    insert_plain_forums(url)
    assert sorted(stored_secrets(url)) == sorted(PLAIN)
    secretbox.configure(replace(_config(url), secret_key=OLD_KEY))
    upgrade(get_engine(url))  # as every command does on start
    stored = stored_secrets(url)
    assert len(stored) == 5 and all(v.startswith("enc:v1:") for v in stored)
    assert not any(s.encode() in database_text(url) for s in PLAIN)
    assert forum_secrets(session_factory(get_engine(url))) == EXPECTED
    upgrade(get_engine(url))  # nothing left to do, and nothing sealed twice
    assert stored_secrets(url) == stored


def test_migration_downgrade_gives_back_plain_text(empty_database_url):
    url = empty_database_url
    migrate(url, "0005")
    insert_plain_forums(url)
    secretbox.configure(replace(_config(url), secret_key=OLD_KEY))
    upgrade(get_engine(url))
    migrate(url, "0005", down=True)
    assert sorted(stored_secrets(url)) == sorted(PLAIN)


def _config(url: str):
    from plugin.config import Config

    return Config(database_url=url, secret_key="unused", base_url="http://127.0.0.1:8000")


# -- personal links across a key rotation -----------------------------------------------------


def _admin_link_token(config) -> str:
    from types import SimpleNamespace

    from plugin.web.admin.auth import Person, mint_admin_link

    forum = SimpleNamespace(id=1)
    link = mint_admin_link(config, forum, Person(7, "alice", True, True))
    return link.rsplit("/", 1)[1]


def test_a_link_sent_before_a_rotation_still_opens_while_the_old_key_is_listed():
    from plugin.web.admin.auth import read_link

    old = Config(database_url="sqlite://", secret_key=OLD_KEY, base_url="http://127.0.0.1:8000")
    secretbox.configure(old)
    token = _admin_link_token(old)
    rotated = replace(old, secret_key=NEW_KEY, previous_secret_keys=(OLD_KEY,))
    secretbox.configure(rotated)
    claim = read_link(rotated, token)
    assert claim is not None and claim.person.username == "alice"


def test_a_link_sent_before_a_rotation_is_refused_once_the_old_key_is_dropped():
    from plugin.web.admin.auth import read_link

    old = Config(database_url="sqlite://", secret_key=OLD_KEY, base_url="http://127.0.0.1:8000")
    secretbox.configure(old)
    token = _admin_link_token(old)
    done = replace(old, secret_key=NEW_KEY)
    secretbox.configure(done)
    assert read_link(done, token) is None


def test_new_links_are_signed_with_the_current_key():
    from plugin.web.admin.auth import read_link

    rotated = Config(
        database_url="sqlite://",
        secret_key=NEW_KEY,
        base_url="http://127.0.0.1:8000",
        previous_secret_keys=(OLD_KEY,),
    )
    secretbox.configure(rotated)
    token = _admin_link_token(rotated)
    after = replace(rotated, previous_secret_keys=())
    secretbox.configure(after)
    assert read_link(after, token) is not None
