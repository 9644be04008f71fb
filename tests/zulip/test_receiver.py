"""The Zulip receiver: token in the body, text dropped before storing, stored once, JSON answers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.forums.connections import add_forum
from plugin.storage.db import transaction
from plugin.storage.models import InboxEvent
from tests.helpers import LOOPBACK
from tests.ingest_support import (
    TOKEN,
    ZULIP_BOT,
    ZULIP_FIXTURES,
    ZULIP_URL,
    inbox_rows,
    send_zulip,
    stored_payload,
    zulip_dm,
)

URL, BOT = ZULIP_URL, ZULIP_BOT
NO_REPLY = {"response_not_required": True}
rows, payload, send = inbox_rows, stored_payload, send_zulip


def fixture(name: str) -> dict:
    return json.loads((ZULIP_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def group_dm(text: str = "Hi mentor bot", **message) -> dict:
    """The fixture's group DM (Iago 5, Hamlet 10 and the bot 25) saying `text`."""
    return zulip_dm(text, **message)


def one_to_one(text: str) -> dict:
    """Iago writing to the bot alone."""
    return zulip_dm(text, one_to_one=True)


# ----- what is stored ---------------------------------------------------------------------------


def test_group_dm_is_stored_as_post_created_in_the_thread_of_its_members(client, zforum, sessions):
    assert send(client, group_dm()).status_code == 200
    [row] = rows(sessions)
    assert (row.event, row.content_key, row.ordering_key) == (
        "post_created",
        "post_created:112",
        "topic:5,10",
    )
    assert payload(sessions) == {
        "post_id": 112,
        "topic_id": "5,10",
        "user_id": 5,
        "created_at": "2018-06-01T18:15:31+00:00",
    }


def test_every_answer_is_the_json_zulip_takes_as_no_reply(client, zforum):
    response = send(client, group_dm())
    assert response.is_json and response.get_json() == NO_REPLY == fixture(
        "answer__response_not_required"
    )


def test_created_at_is_zulips_own_timestamp(client, zforum, sessions):
    moment = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    send(client, group_dm(timestamp=int(moment.timestamp())))
    assert datetime.fromisoformat(payload(sessions)["created_at"]) == moment


def test_pair_text_is_dropped_before_storing(client, zforum, sessions):
    send(client, group_dm("my secret plan involves a purple-elephant"))
    with sessions() as session:
        stored = session.execute(select(InboxEvent.payload)).scalar_one()
    assert "purple-elephant" not in stored and "command" not in json.loads(stored)


def test_pair_text_never_reaches_the_sqlite_file(client, zforum, sessions, config):
    if not config.is_sqlite:
        pytest.skip("file check is for SQLite")
    send(client, group_dm("zanzibar-kumquat confidential"))
    path = Path(config.database_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"zanzibar-kumquat" not in data


def test_a_bang_command_in_a_group_dm_is_kept(client, zforum, sessions):
    send(client, group_dm("  !report he keeps asking for money"))
    assert payload(sessions)["command"] == "!report he keeps asking for money"


def test_a_command_word_without_bang_in_a_group_dm_is_only_conversation(client, zforum, sessions):
    send(client, group_dm("done with step two, what next?"))
    assert "command" not in payload(sessions)


def test_a_dm_to_the_bot_is_a_command_without_the_bang(client, zforum, sessions):
    send(client, one_to_one("signup"))
    assert payload(sessions)["command"] == "signup" and payload(sessions)["topic_id"] == "5"


def test_a_dm_to_the_bot_with_the_bang_is_a_command_too(client, zforum, sessions):
    send(client, one_to_one("!signup"))
    assert payload(sessions)["command"] == "!signup"


def test_a_german_command_word_to_the_bot_is_a_command_without_the_bang(client, zforum, sessions):
    send(client, one_to_one("hilfe"))
    assert payload(sessions)["command"] == "hilfe"


def test_a_dm_to_the_bot_that_is_no_command_word_keeps_no_text(client, zforum, sessions):
    send(client, one_to_one("1) my address is 5 Elm Street"))
    assert "command" not in payload(sessions)


def test_a_channel_mention_is_acknowledged_and_not_stored(client, zforum, sessions):
    response = send(client, fixture("mention__channel_message"))
    assert response.status_code == 200 and response.get_json() == NO_REPLY
    assert rows(sessions) == []


def test_a_message_from_the_bot_itself_is_not_stored(client, zforum, sessions):
    send(client, group_dm(sender_email=BOT, sender_id=25))
    assert rows(sessions) == []


# ----- duplicates -------------------------------------------------------------------------------


def test_a_duplicate_delivery_is_stored_once_and_still_acknowledged(client, zforum, sessions):
    body = group_dm("!done")
    first, again = send(client, body), send(client, copy.deepcopy(body))
    assert first.get_json() == again.get_json() == NO_REPLY
    assert again.status_code == 200 and len(rows(sessions)) == 1


def test_distinct_messages_are_stored_separately(client, zforum, sessions):
    send(client, group_dm(id=112))
    send(client, group_dm(id=113))
    assert [r.content_key for r in rows(sessions)] == ["post_created:112", "post_created:113"]


# ----- refusals ---------------------------------------------------------------------------------


def test_a_wrong_token_is_401_and_nothing_stored(client, zforum, sessions):
    body = group_dm("!report x")
    body["token"] = "not-the-token"
    response = send(client, body)
    assert response.status_code == 401 and response.is_json
    assert rows(sessions) == []


def test_a_missing_token_is_401(client, zforum, sessions):
    body = group_dm()
    del body["token"]
    assert send(client, body).status_code == 401 and rows(sessions) == []


def test_the_token_is_compared_in_constant_time(client, zforum, monkeypatch):
    import webhooks.zulip.receiver as receiver

    seen = []
    monkeypatch.setattr(receiver.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or False)
    assert send(client, group_dm()).status_code == 401
    assert seen == [(TOKEN.encode(), TOKEN.encode())]


def test_the_token_is_the_forums_own(client, zforum, sessions):
    with transaction(sessions) as session:
        add_forum(
            session,
            kind="zulip",
            name="other",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="k",
            bot_user=BOT,
            webhook_secret="another-token",
        )
    assert client.post("/webhooks/zulip/other", json=group_dm()).status_code == 401


def test_an_unknown_forum_is_404(client, zforum, sessions):
    response = client.post("/webhooks/zulip/nope", json=group_dm())
    assert response.status_code == 404 and response.is_json and rows(sessions) == []


def test_a_discourse_forums_name_is_404_here(client, forum, sessions):
    assert client.post("/webhooks/zulip/forum", json=group_dm()).status_code == 404


def test_malformed_json_is_400_and_nothing_stored(client, zforum, sessions):
    response = send(client, b'{"token": "' + TOKEN.encode() + b'", ')
    assert response.status_code == 400 and response.is_json and rows(sessions) == []


def test_json_that_is_not_an_object_is_400(client, zforum):
    assert send(client, b"[1, 2]").status_code == 400


def test_a_direct_message_lacking_its_sender_is_400(client, zforum, sessions):
    body = group_dm()
    del body["message"]["sender_id"]
    assert send(client, body).status_code == 400 and rows(sessions) == []


def test_a_body_over_one_mib_is_413_and_nothing_stored(client, zforum, sessions):
    response = send(client, group_dm("x" * (1024 * 1024)))
    assert response.status_code == 413 and response.is_json and rows(sessions) == []


def test_database_down_answers_503_with_json(zforum):
    from plugin.config import Config
    from plugin.web.app import create_app

    down = Config("postgresql+psycopg://postgres@127.0.0.1:1/none", "k", "http://x")
    response = create_app(down).test_client().post(URL, json=group_dm())
    assert response.status_code == 503 and response.get_json()["response_not_required"]
