"""The Discourse receiver and chat messages (`chat_message_created`, issue 15).

A message in a direct-message channel is activity, and a command when it starts with a
command word; its text is dropped before anything is written. Chat in a public channel, the
bot's own messages and edits are acknowledged and dropped.
"""

from __future__ import annotations

import copy
import json

from tests.discourse.test_receiver import inbox_rows, post
from tests.helpers import fixture

CREATED = "chat_message__chat_message_created"


def chat_body(**message) -> dict:
    """The fixture's body with the message's fields replaced (`user` merged)."""
    body = copy.deepcopy(fixture(CREATED))
    inner = body["chat_message"]["message"]
    inner["user"].update(message.pop("user", {}))
    inner.update(message)
    return body


def test_a_chat_message_in_a_direct_message_channel_is_stored(client, forum, sessions):
    response = post(client, CREATED)
    assert response.get_json() == {"status": "stored"}
    [row] = inbox_rows(sessions)
    message = fixture(CREATED)["chat_message"]["message"]
    assert row.event == "post_created"
    assert json.loads(row.payload) == {
        "post_id": f"chat-{message['id']}",
        "topic_id": f"chat:{fixture(CREATED)['chat_message']['channel']['id']}",
        "user_id": message["user"]["id"],
        "created_at": message["created_at"],
    }


def test_a_chat_messages_text_is_dropped_before_storing(client, forum, sessions):
    post(client, CREATED, body=chat_body(message="my worries, marmot-lantern", cooked="<p>x</p>"))
    [row] = inbox_rows(sessions)
    assert "marmot-lantern" not in row.payload and "marmot" not in (row.content_key or "")


def test_a_chat_command_keeps_its_text(client, forum, sessions):
    post(client, f"{CREATED}__command")
    [row] = inbox_rows(sessions)
    assert json.loads(row.payload)["command"].startswith("!done")


def test_a_message_in_a_public_chat_channel_is_acknowledged_and_dropped(client, forum, sessions):
    response = post(client, f"{CREATED}__public_channel")
    assert response.status_code == 200
    assert inbox_rows(sessions) == []


def test_the_bots_own_chat_message_is_not_stored(client, forum, sessions):
    response = post(client, CREATED, body=chat_body(user={"username": "mentor_bot"}))
    assert response.status_code == 200
    assert inbox_rows(sessions) == []


def test_a_chat_message_by_the_forums_own_system_user_is_not_stored(client, forum, sessions):
    post(client, CREATED, body=chat_body(user={"id": -1, "username": "system"}))
    assert inbox_rows(sessions) == []


def test_an_edited_chat_message_is_acknowledged_and_dropped(client, forum, sessions):
    response = post(client, "chat_message__chat_message_edited")
    assert response.get_json() == {"status": "ignored"}
    assert inbox_rows(sessions) == []


def test_a_chat_message_without_its_channel_is_400_and_nothing_stored(client, forum, sessions):
    body = copy.deepcopy(fixture(CREATED))
    del body["chat_message"]["channel"]
    assert post(client, CREATED, body=body).status_code == 400
    assert inbox_rows(sessions) == []


def test_a_chat_message_delivered_twice_is_stored_once(client, forum, sessions):
    post(client, CREATED, event_id=31)
    assert post(client, CREATED, event_id=32).get_json() == {"status": "duplicate"}
    assert len(inbox_rows(sessions)) == 1
