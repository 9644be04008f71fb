"""Ingest security (issue 9): hostile input, privacy at ingest, deduplication, secret rotation."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text

from plugin.domain.tables import DISPATCH as HANDLERS
from plugin.engine.adapter import ForumRejected
from plugin.engine.clock import Clock
from plugin.engine.inbox import Registered, process_due
from plugin.engine.payloads import COMMAND_WORDS
from plugin.storage.db import transaction
from plugin.storage.models import Forum, OutboxMessage
from tests.helpers import LOOPBACK, SECRET, fixture, pm_post
from tests.ingest_support import (
    TOKEN,
    add_zulip_forum,
    inbox_rows,
    send_discourse,
    send_zulip,
    stored_payload,
    zulip_dm,
)

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def zforum(sessions):
    return add_zulip_forum(sessions)


class NoForum:
    """An adapter these events must never use."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the worker must not call the forum ({name}) for these events")


def no_adapter(forum_id: int) -> NoForum:
    return NoForum()


# ----- finding 6: hostile input is a clear 4xx (or an ignored 2xx), never a 5xx -------------------


def _post(**fields) -> dict:
    body = pm_post(9001)
    body["post"].update(fields)
    return body


def _group_user(**fields) -> dict:
    body = fixture("group_user__user_added_to_group")
    body["group_user"].update(fields)
    return body


DEEP = b"[" * 100_000 + b"]" * 100_000
DISCOURSE_HOSTILE = {
    "deep-nesting": ("post__post_created", DEEP, {}),
    "deep-nesting-in-a-field": (
        "post__post_created",
        b'{"post": {"raw": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
        {},
    ),
    "huge-user-id": ("post__post_created", _post(user_id=2**63), {}),
    "user-id-beyond-int32": ("post__post_created", _post(user_id=2**31), {}),
    "huge-post-id": ("post__post_created", _post(id=10**40), {}),
    "huge-topic-id": ("post__post_created", _post(topic_id=2**64), {}),
    "bool-user-id": ("post__post_created", _post(user_id=True), {}),
    "float-user-id": ("post__post_created", _post(user_id=42.0), {}),
    "five-thousand-digit-id": (
        "post__post_created",
        b'{"post": {"id": ' + b"9" * 5000 + b"}}",
        {},
    ),
    "nan-id": ("post__post_created", b'{"post": {"id": NaN}}', {}),
    "float-timestamp": ("post__post_created", _post(created_at=1.5e9), {}),
    "year-99999": ("post__post_created", _post(created_at="99999-01-01T00:00:00Z"), {}),
    "year-1": ("post__post_created", _post(created_at="0001-01-01T00:00:00+23:59"), {}),
    "garbage-timestamp": ("post__post_created", _post(created_at="yesterday"), {}),
    "nul-in-timestamp": ("post__post_created", _post(created_at="2026-03-02\x00T14:05"), {}),
    "long-timestamp": (
        "post__post_created",
        _post(created_at="2026-03-02T14:05:11" + "0" * 300),
        {},
    ),
    "surrogate-timestamp": ("post__post_created", _post(created_at="2026\ud800"), {}),
    "non-utf8": ("post__post_created", b'{"post": {"raw": "\xff\xfe\xfd"}}', {}),
    "latin1-body": ("post__post_created", '{"post": "caf\xe9"}'.encode("latin-1"), {}),
    "odd-types-post-is-list": ("post__post_created", {"post": [1, 2]}, {}),
    "odd-types-raw-is-object": ("post__post_created", _post(raw={"x": [1]}), {}),
    "odd-types-archetype": ("post__post_created", _post(topic_archetype=["private_message"]), {}),
    "odd-types-username": ("post__post_created", _post(username={"a": 1}), {}),
    "surrogate-command": ("post__post_created", _post(raw="!report \ud800 \x00 help"), {}),
    "system-user": ("post__post_created", _post(user_id=-1), {}),
    "group-huge-ids": ("group_user__user_added_to_group", _group_user(group_id=2**40), {}),
    "group-long-created-at": (
        "group_user__user_added_to_group",
        _group_user(created_at="x" * 10_000),
        {},
    ),
    "group-membership-id-huge": ("group_user__user_added_to_group", _group_user(id=2**70), {}),
    "user-destroyed-huge-id": ("user__user_destroyed", {"user": {"id": 2**63 + 1}}, {}),
    "json-array": ("post__post_created", b"[]", {}),
    "json-string": ("post__post_created", b'"post"', {}),
    "empty-body": ("post__post_created", b"", {}),
    "long-event-id-header": ("post__post_created", None, {"X-Discourse-Event-Id": "9" * 5000}),
    "latin1-event-id-header": ("post__post_created", None, {"X-Discourse-Event-Id": "\xe9\xff"}),
    "odd-event-header": ("post__post_created", None, {"X-Discourse-Event": "p\xf6st_created"}),
    "long-event-header": ("post__post_created", None, {"X-Discourse-Event": "a" * 10_000}),
    "empty-event-header": ("post__post_created", None, {"X-Discourse-Event": ""}),
}


@pytest.mark.parametrize("case", list(DISCOURSE_HOSTILE), ids=list(DISCOURSE_HOSTILE))
def test_hostile_discourse_request_is_never_5xx(case, client, forum, sessions, caplog):
    name, body, headers = DISCOURSE_HOSTILE[case]
    raw = body if isinstance(body, bytes | None) else json.dumps(body).encode()
    response = send_discourse(client, name, raw, **headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # Whatever was accepted, the worker processes without a failure.
    done = process_due(
        sessions, no_adapter, owner="t", clock=Clock(T0), lease=LEASE, handlers=HANDLERS
    )
    assert done.failed == 0


def _dm(**message) -> dict:
    return zulip_dm("!done", **message)


def _recipients(n: int) -> list[dict]:
    people = [{"id": 5, "email": "iago@zulip.com"}, {"id": 25, "email": "outgoing-bot@localhost"}]
    return people + [{"id": 1_000_000 + i, "email": f"u{i}@example.com"} for i in range(n)]


ZULIP_HOSTILE = {
    "deep-nesting": DEEP,
    "deep-nesting-in-a-field": b'{"token": "x", "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "huge-user-id": _dm(sender_id=2**63),
    "user-id-beyond-int32": _dm(sender_id=2**31),
    "huge-message-id": _dm(id=10**30),
    "bool-user-id": _dm(sender_id=True),
    "bool-recipient-id": _dm(display_recipient=[{"id": True}, {"id": 5}]),
    "huge-recipient-id": _dm(display_recipient=[{"id": 2**64}, {"id": 5}]),
    "float-timestamp": _dm(timestamp=1527876931.5),
    "huge-timestamp": _dm(timestamp=10**20),
    "negative-timestamp": _dm(timestamp=-(10**15)),
    "string-timestamp": _dm(timestamp="1527876931"),
    "long-group-dm": _dm(display_recipient=_recipients(400)),
    "odd-types-message-is-list": {"token": TOKEN, "message": []},
    "odd-types-recipients": _dm(display_recipient="a stream"),
    "odd-types-sender-email": _dm(sender_email={"x": 1}),
    "odd-types-data": {**_dm(), "data": ["!done"]},
    "surrogate-token": {**_dm(), "token": "\ud800"},
    "token-is-number": {**_dm(), "token": 12345},
    "surrogate-command": {**zulip_dm("!report \ud800\x00 x"), "data": "!report \ud800\x00 x"},
    "non-utf8": b'{"token": "\xff\xfe"}',
    "json-array": b"[]",
    "empty-body": b"",
}


@pytest.mark.parametrize("case", list(ZULIP_HOSTILE), ids=list(ZULIP_HOSTILE))
def test_hostile_zulip_request_is_never_5xx(case, client, zforum, sessions, caplog):
    body = ZULIP_HOSTILE[case]
    if isinstance(body, dict) and "token" not in body:
        body = {**body, "token": TOKEN}
    response = send_zulip(client, body)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    done = process_due(
        sessions, no_adapter, owner="t", clock=Clock(T0), lease=LEASE, handlers=HANDLERS
    )
    assert done.failed == 0


def test_ids_beyond_the_columns_are_refused_at_the_receiver(client, forum, zforum, sessions):
    assert send_discourse(client, "post__post_created", _post(user_id=2**31)).status_code == 400
    assert send_zulip(client, _dm(sender_id=2**31)).status_code == 400
    assert inbox_rows(sessions) == []


def test_long_group_dm_gets_a_bounded_thread_key_and_keeps_no_text(client, zforum, sessions):
    assert send_zulip(client, _dm(display_recipient=_recipients(400))).status_code == 200
    [row] = inbox_rows(sessions)
    stored = json.loads(row.payload)
    assert len(stored["topic_id"]) <= 64 and len(row.ordering_key) <= 120
    assert "command" not in stored
    again = _dm(id=113, display_recipient=list(reversed(_recipients(400))))
    send_zulip(client, again)
    assert len({json.loads(r.payload)["topic_id"] for r in inbox_rows(sessions)}) == 1


def test_short_thread_keeps_its_identity(client, zforum, sessions):
    send_zulip(client, zulip_dm("!done"))
    assert stored_payload(sessions)["topic_id"] == "5,10"


# ----- finding 7: privacy at ingest -------------------------------------------------------------


def test_unknown_bang_word_keeps_no_text(client, forum, sessions):
    send_discourse(client, "post__post_created", pm_post(1, raw="!important my bank pin is 1234"))
    assert "command" not in stored_payload(sessions)


def test_unknown_bang_word_in_zulip_group_dm_keeps_no_text(client, zforum, sessions):
    send_zulip(client, zulip_dm("!important my bank pin is 1234"))
    assert "command" not in stored_payload(sessions)


def test_zulip_plain_dm_to_bot_keeps_no_text(client, zforum, sessions):
    send_zulip(client, zulip_dm("hello there, I live at 5 Elm Street", one_to_one=True))
    assert "command" not in stored_payload(sessions)


@pytest.mark.parametrize("word", sorted(COMMAND_WORDS))
def test_every_command_word_keeps_its_text(word, client, forum, sessions):
    send_discourse(client, "post__post_created", pm_post(1, raw=f"!{word.upper()} 2"))
    assert stored_payload(sessions)["command"] == f"!{word.upper()} 2"


def test_command_words_are_the_ones_the_interface_names():
    assert COMMAND_WORDS == {
        *("help", "done", "pause", "resume", "end", "report", "block", "signup", "admin"),
        *("ask", "graduate", "directory", "accept", "decline"),
    }


def test_chat_acts_only_on_the_shared_command_words():
    from plugin.domain.commands import parse

    assert parse("!pause 3") == ("pause", "3")
    assert parse("!important stuff") == ("", "")


def test_failed_event_payload_is_cleared(client, forum, sessions, monkeypatch):
    def refused(ctx, ev):
        raise ForumRejected("the forum refused it")

    monkeypatch.setitem(HANDLERS, "post_created", Registered(refused))
    raw = "!report he asked for my bank pin"
    send_discourse(client, "post__post_created", pm_post(77, raw=raw))
    result = process_due(
        sessions, no_adapter, owner="t", clock=Clock(T0), lease=LEASE, handlers=HANDLERS
    )
    [row] = inbox_rows(sessions)
    assert (result.failed, row.state) == (1, "failed")
    assert "bank pin" not in (row.payload or "")
    kept = json.loads(row.payload)
    assert (kept["post_id"], kept["user_id"], kept["command_word"]) == (77, 42, "report")


def test_failed_call_payload_is_cleared(forum, sessions, monkeypatch):
    from plugin.domain.tables import OUTBOX_KINDS as KINDS
    from plugin.engine.outbox import Kind, deliver_due, enqueue

    def refused(ctx, payload, marker):
        raise ForumRejected("422: the forum refused it")

    monkeypatch.setitem(KINDS, "refused_post", Kind(send=refused, find=lambda *a: None))
    with transaction(sessions) as session:
        enqueue(
            session,
            forum_id=forum.id,
            key="k1",
            kind="refused_post",
            payload={"thread": "812", "text": "maya's private words", "usernames": ["maya"]},
        )
    deliver_due(sessions, lambda fid: None, owner="t", now=T0, lease=LEASE, kinds=KINDS)
    with sessions() as session:
        row = session.query(OutboxMessage).one()
    assert row.state == "dead"
    assert "private words" not in row.payload and "maya" not in row.payload
    assert json.loads(row.payload) == {"thread": "812", "cleared": True}


# ----- finding 9: deduplicate by what the event is ------------------------------------------------


REUSED = {"X-Discourse-Event-Id": "7"}


def test_reused_event_id_with_different_event_is_stored(client, forum, sessions):
    first = send_discourse(
        client, "post__post_created", pm_post(1), **{"X-Discourse-Event-Id": "7"}
    )
    other = send_discourse(
        client, "post__post_created", pm_post(2), **{"X-Discourse-Event-Id": "7"}
    )
    assert (first.get_json(), other.get_json()) == ({"status": "stored"},) * 2
    assert [r.delivery_id for r in inbox_rows(sessions)] == ["7", "7"]


def test_true_duplicate_with_new_event_id_is_dropped(client, forum, sessions):
    send_discourse(client, "post__post_created", pm_post(1), **{"X-Discourse-Event-Id": "7"})
    again = send_discourse(
        client, "post__post_created", pm_post(1), **{"X-Discourse-Event-Id": "8"}
    )
    assert again.get_json() == {"status": "duplicate"} and len(inbox_rows(sessions)) == 1


def test_restored_forum_reusing_a_post_id_for_a_new_post_is_stored(client, forum, sessions):
    send_discourse(client, "post__post_created", pm_post(5, created_at="2026-03-02T14:05:11Z"))
    later = pm_post(5, created_at="2026-04-09T08:00:00Z")
    assert send_discourse(client, "post__post_created", later).get_json() == {"status": "stored"}


def test_restored_forum_reusing_a_user_id_is_erased_again(client, forum, sessions):
    body = fixture("user__user_destroyed")
    send_discourse(client, "user__user_destroyed", body)
    body["user"]["created_at"] = "2026-05-01T00:00:00Z"  # another account with the same id
    assert send_discourse(client, "user__user_destroyed", body).get_json() == {"status": "stored"}


def test_rejoining_a_group_is_a_new_event_and_a_retry_is_not(client, forum, sessions):
    send_discourse(client, "group_user__user_added_to_group")
    retry = send_discourse(client, "group_user__user_added_to_group")
    rejoined = _group_user(id=3000, created_at="2026-04-01T09:00:00Z")
    again = send_discourse(client, "group_user__user_added_to_group", rejoined)
    assert (retry.get_json(), again.get_json()) == ({"status": "duplicate"}, {"status": "stored"})


def test_migration_0008_drops_the_delivery_constraint_and_keeps_rows(database_url):
    engine = create_engine(database_url)
    names = {c["name"] for c in inspect(engine).get_unique_constraints("inbox_events")}
    columns = {c["name"] for c in inspect(engine).get_columns("forums")}
    engine.dispose()
    assert "uq_inbox_delivery" not in names and "uq_inbox_content" in names
    assert {"previous_webhook_secret", "webhook_secret_replaced_at"} <= columns


def test_migration_0008_upgrades_a_0005_database_with_events(tmp_path):
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from plugin.config import Config
    from plugin.storage import secretbox
    from plugin.storage.db import MIGRATIONS, get_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    # Migration 0007 seals the forum's secrets on the way up: it needs the keyring.
    secretbox.configure(Config(database_url=url, secret_key="k", base_url="http://x"))
    engine = get_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(
            text(
                "INSERT INTO forums (id, name, kind, url, api_key, bot_user, webhook_secret, "
                "request_budget, created_at) VALUES (1, 'f', 'discourse', 'https://x', 'k', "
                "'bot', 'secret-123456', 55, '2030-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO inbox_events (forum_id, delivery_id, event, content_key, state, "
                "attempts, run_at, created_at) VALUES (1, '7', 'post_created', 'post_created:1', "
                "'done', 0, '1970-01-01 00:00:00', '2030-01-01 00:00:00')"
            )
        )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.execute(
            text(
                "INSERT INTO inbox_events (forum_id, delivery_id, event, content_key, state, "
                "attempts, run_at, created_at) VALUES (1, '7', 'post_created', 'post_created:2', "
                "'pending', 0, '1970-01-01 00:00:00', '2030-01-01 00:00:00')"
            )
        )
        assert conn.execute(text("SELECT count(*) FROM inbox_events")).scalar_one() == 2
        sealed = conn.execute(text("SELECT webhook_secret FROM forums")).scalar_one()
        assert secretbox.is_sealed(sealed) and secretbox.keyring().unseal(sealed) == "secret-123456"
    engine.dispose()


# ----- finding 10: secret rotation, and every rejection logged ------------------------------------

NEW_SECRET = "a-brand-new-secret-456"


def _rotate(sessions, forum_id: int, new: str, at: datetime) -> None:
    from plugin.forums.connections import set_webhook_secret

    with transaction(sessions) as session:
        set_webhook_secret(session.get(Forum, forum_id), new, at)


def test_previous_webhook_secret_valid_within_overlap(client, forum, zforum, sessions):
    assert send_discourse(client, "ping__ping").status_code == 200  # cached with the old one
    _rotate(sessions, forum.id, NEW_SECRET, datetime.now(UTC))
    _rotate(sessions, zforum.id, "new-token", datetime.now(UTC))
    assert send_discourse(client, "post__post_created", pm_post(1)).status_code == 200
    assert (
        send_discourse(client, "post__post_created", pm_post(2), secret=NEW_SECRET).status_code
        == 200
    )
    assert send_zulip(client, zulip_dm(id=1)).status_code == 200
    assert send_zulip(client, {**zulip_dm(id=2), "token": "new-token"}).status_code == 200
    assert len(inbox_rows(sessions)) == 4


def test_previous_webhook_secret_refused_after_overlap(client, forum, zforum, sessions):
    long_ago = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    _rotate(sessions, forum.id, NEW_SECRET, long_ago)
    _rotate(sessions, zforum.id, "new-token", long_ago)
    assert send_discourse(client, "post__post_created", pm_post(1)).status_code == 401
    assert send_zulip(client, zulip_dm(id=1)).status_code == 401
    assert (
        send_discourse(client, "post__post_created", pm_post(2), secret=NEW_SECRET).status_code
        == 200
    )
    assert inbox_rows(sessions)[0].content_key.startswith("post_created:2:")


def test_secret_overlap_is_configurable(client, forum, sessions, monkeypatch):
    monkeypatch.setenv("MENTORSHIP_SECRET_OVERLAP_SECONDS", "0")
    _rotate(sessions, forum.id, NEW_SECRET, datetime.now(UTC) - timedelta(seconds=1))
    assert send_discourse(client, "post__post_created", pm_post(1)).status_code == 401
    monkeypatch.setenv("MENTORSHIP_SECRET_OVERLAP_SECONDS", "86400")
    assert send_discourse(client, "post__post_created", pm_post(1)).status_code == 200


def test_saving_the_same_secret_again_keeps_the_overlap(sessions, forum):
    moment = datetime.now(UTC)
    _rotate(sessions, forum.id, NEW_SECRET, moment)
    _rotate(sessions, forum.id, NEW_SECRET, moment + timedelta(minutes=5))
    with sessions() as session:
        row = session.get(Forum, forum.id)
        assert (row.previous_webhook_secret, row.webhook_secret_replaced_at) == (SECRET, moment)


def test_admin_settings_save_keeps_the_previous_secret_valid(sessions, forum):
    from plugin.web.admin.settings import apply

    with transaction(sessions) as session:
        row = session.get(Forum, forum.id)
        form = {"url": row.url, "api_username": row.bot_user, "request_budget_per_minute": "55"}
        assert apply(row, {**form, "webhook_secret": NEW_SECRET}, LOOPBACK) == {}
    with sessions() as session:
        row = session.get(Forum, forum.id)
        assert (row.webhook_secret, row.previous_webhook_secret) == (NEW_SECRET, SECRET)
        assert row.webhook_secret_replaced_at is not None


MARKER = "zanzibar-kumquat-4711"


def _discourse_rejections(client):
    over = b'{"post": "' + MARKER.encode() + b'", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    yield 404, client.post("/webhooks/discourse/nope", data=MARKER)
    yield 413, client.post("/webhooks/discourse/forum", data=over)
    yield 401, send_discourse(client, "post__post_created", pm_post(1, raw=MARKER), secret=MARKER)
    yield 400, send_discourse(client, "post__post_created", f"{{{MARKER}".encode())
    yield 400, send_discourse(client, "post__post_created", f'["{MARKER}"]'.encode())
    no_event = {"X-Discourse-Event": ""}
    yield 400, send_discourse(client, "post__post_created", pm_post(1, raw=MARKER), **no_event)
    yield 400, send_discourse(client, "post__post_created", {"post": {"raw": MARKER}})


def _zulip_rejections(client):
    over = b'{"token": "' + MARKER.encode() + b'", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    yield 404, send_zulip(client, zulip_dm(MARKER), url="/webhooks/zulip/nope")
    yield 413, send_zulip(client, over)
    yield 401, send_zulip(client, {**zulip_dm(MARKER), "token": MARKER})
    yield 400, send_zulip(client, f"{{{MARKER}".encode())
    yield 400, send_zulip(client, f'["{MARKER}"]'.encode())
    yield 400, send_zulip(client, {"token": TOKEN, "message": {"type": "private", "x": MARKER}})


def test_every_rejection_is_logged_with_reason_and_no_body(client, forum, zforum, caplog):
    caplog.set_level(logging.INFO)
    sent = itertools.chain(_discourse_rejections(client), _zulip_rejections(client))
    for code, response in sent:  # lazily: each request's log is checked before the next
        assert response.status_code == code
        reason = response.get_json()["error"]
        [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert record.levelno == logging.WARNING
        assert str(code) in record.getMessage() and reason in record.getMessage()
        caplog.clear()
    logged = caplog.text
    assert MARKER not in logged and SECRET not in logged and TOKEN not in logged


@pytest.mark.parametrize(
    "name",
    ["a%00b", "x" * 300, "%C3%A9t%C3%A9", "%ED%A0%80", "..", "a b"],
    ids=[
        "nul-in-forum-name",
        "long-forum-name",
        "non-ascii-forum-name",
        "bad-utf8-forum-name",
        "dot-forum-name",
        "space-forum-name",
    ],
)
@pytest.mark.parametrize("kind", ["discourse", "zulip"])
def test_odd_forum_names_are_404_without_a_5xx(kind, name, client, forum, zforum):
    assert client.post(f"/webhooks/{kind}/{name}", data=b"{}").status_code == 404


def test_a_forum_name_with_control_characters_is_logged_on_one_line(client, caplog):
    client.post("/webhooks/discourse/a%0Ab%1Bc", data=b"{}")
    [record] = caplog.records
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()
