"""The fake Discourse's chat behaves as the chat plugin's controllers and services do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fakes.discourse import FakeDiscourse
from tests.fakes.server import Clock
from tests.helpers import FIXTURES

KEY = "test-key"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_772_460_311.0)  # 2026-03-02T14:05:11Z


@pytest.fixture
def forum(clock: Clock) -> Iterator[FakeDiscourse]:
    fake = FakeDiscourse(api_key=KEY, bot_username="mentor_bot", clock=clock)
    for name in ("maya", "sam", "lee"):
        fake.add_user(name, name=name.title())
    with fake.serve():
        yield fake
    fake.assert_valid()  # tests that break the check on purpose clear violations themselves


def headers(as_user: str) -> dict[str, str]:
    return {"Api-Key": KEY, "Api-Username": as_user}


def open_dm(forum: FakeDiscourse, targets: Any, as_user: str = "mentor_bot", **extra: Any):
    body = {"target_usernames": targets, **extra}
    url = f"{forum.url}/chat/api/direct-message-channels.json"
    return requests.post(url, json=body, headers=headers(as_user))


def pair_channel(forum: FakeDiscourse) -> int:
    response = open_dm(forum, ["maya", "sam"], upsert=True)
    assert response.status_code == 200, response.text
    return response.json()["channel"]["id"]


def post(forum: FakeDiscourse, channel_id: int, text: str, as_user: str = "mentor_bot"):
    url = f"{forum.url}/chat/{channel_id}.json"
    return requests.post(url, json={"message": text}, headers=headers(as_user))


def read(forum: FakeDiscourse, channel_id: int, as_user: str = "mentor_bot", **params: Any):
    url = f"{forum.url}/chat/api/channels/{channel_id}/messages"
    return requests.get(url, params=params, headers=headers(as_user))


def member_names(forum: FakeDiscourse, channel_id: int) -> set[str]:
    return {forum.users[i].username for i in forum.chat_channels[channel_id].user_ids}


# ----- direct-message channels ---------------------------------------------------------------


def test_the_caller_is_always_a_member_of_the_channel_it_creates(forum):
    channel_id = pair_channel(forum)
    assert member_names(forum, channel_id) == {"mentor_bot", "maya", "sam"}


def test_a_comma_string_is_split_without_trimming_so_a_spaced_name_is_lost(forum):
    channel_id = open_dm(forum, "maya, sam").json()["channel"]["id"]
    assert member_names(forum, channel_id) == {"mentor_bot", "maya"}


def test_unknown_usernames_are_silently_left_out(forum):
    channel_id = open_dm(forum, ["maya", "nobody"]).json()["channel"]["id"]
    assert member_names(forum, channel_id) == {"mentor_bot", "maya"}


def test_a_user_whose_chat_is_off_is_left_out_of_the_channel(forum):
    forum.user("sam").chat_enabled = False
    channel_id = pair_channel(forum)
    assert member_names(forum, channel_id) == {"mentor_bot", "maya"}


def test_upsert_returns_the_existing_group_channel(forum):
    assert pair_channel(forum) == pair_channel(forum)


def test_without_upsert_a_group_channel_is_new_on_every_call(forum):
    first = open_dm(forum, ["maya", "sam"]).json()["channel"]["id"]
    assert open_dm(forum, ["maya", "sam"]).json()["channel"]["id"] != first


def test_a_one_to_one_channel_is_reused_without_upsert(forum):
    first = open_dm(forum, ["maya"]).json()["channel"]["id"]
    assert open_dm(forum, ["maya"]).json()["channel"]["id"] == first


def test_blank_target_usernames_is_400_with_the_contract_errors(forum):
    response = open_dm(forum, [])
    assert response.status_code == 400
    assert response.json() == {
        "failed": "FAILED",
        "errors": ["Target usernames can't be blank", "Target groups can't be blank"],
    }


def test_a_caller_who_cannot_chat_is_refused_403(forum):
    forum.user("maya").trust_level = 0  # chat_allowed_groups: staff and trust level 1+
    response = open_dm(forum, ["sam"], as_user="maya")
    assert response.status_code == 403
    assert response.json()["error_type"] == "invalid_access"


def test_the_channel_answer_leaves_the_caller_out_of_the_users(forum):
    channel = open_dm(forum, ["maya", "sam"]).json()["channel"]
    assert channel["chatable_type"] == "DirectMessage"
    assert [u["username"] for u in channel["chatable"]["users"]] == ["maya", "sam"]
    assert channel["title"] == "maya, sam"


# ----- posting -------------------------------------------------------------------------------


def test_a_member_posts_and_gets_the_message_id(forum):
    channel_id = pair_channel(forum)
    response = post(forum, channel_id, "Welcome!")
    assert response.json() == {"success": "OK", "message_id": 1}
    assert forum.chat_messages_by("mentor_bot") == ["Welcome!"]


def test_a_form_encoded_message_is_read_like_json(forum):
    channel_id = pair_channel(forum)
    url = f"{forum.url}/chat/{channel_id}.json"
    response = requests.post(url, data={"message": "Hi"}, headers=headers("mentor_bot"))
    assert response.status_code == 200 and forum.chat_messages_by("mentor_bot") == ["Hi"]


def test_a_blank_message_is_400_with_discourses_body(forum):
    response = post(forum, pair_channel(forum), "   ")
    assert response.status_code == 400
    assert response.json() == {"failed": "FAILED", "errors": ["Message can't be blank"]}


def test_a_non_member_cannot_post_404(forum):
    response = post(forum, pair_channel(forum), "hello", as_user="lee")
    assert response.status_code == 404 and forum.chat_messages_by("lee") == []


def test_a_message_over_the_maximum_length_is_422(forum):
    response = post(forum, pair_channel(forum), "x" * 6001)
    assert response.status_code == 422
    assert response.json() == {
        "errors": ["Message is too long, messages must be a maximum of 6000 characters."]
    }


def test_the_same_text_again_within_ten_seconds_in_a_group_dm_is_422(forum):
    channel_id = pair_channel(forum)
    post(forum, channel_id, "Step 2 is due")
    response = post(forum, channel_id, "step 2 is due ")
    assert response.status_code == 422
    assert response.json() == {"errors": ["You posted an identical message too recently."]}


def test_the_same_text_after_ten_seconds_is_accepted(forum, clock):
    channel_id = pair_channel(forum)
    post(forum, channel_id, "Step 2 is due")
    clock.now += 11
    assert post(forum, channel_id, "Step 2 is due").status_code == 200


# ----- reading back --------------------------------------------------------------------------


def test_read_back_gives_the_newest_page_oldest_first(forum):
    channel_id = pair_channel(forum)
    for n in range(5):
        post(forum, channel_id, f"message {n}")
    body = read(forum, channel_id, page_size=3).json()
    assert [m["message"] for m in body["messages"]] == ["message 2", "message 3", "message 4"]
    assert body["meta"]["can_load_more_past"] is True


def test_read_back_pages_at_most_50_by_default(forum):
    channel_id = pair_channel(forum)
    for n in range(55):
        forum.chat_as("maya", channel_id, f"note {n}")
    assert len(read(forum, channel_id).json()["messages"]) == 50


def test_a_page_size_over_50_is_refused_400(forum):
    response = read(forum, pair_channel(forum), page_size=51)
    assert response.status_code == 400
    assert response.json()["errors"] == ["Page size must be less than or equal to 50"]


def test_direction_future_pages_forward_from_a_target(forum):
    channel_id = pair_channel(forum)
    ids = [post(forum, channel_id, f"m{n}").json()["message_id"] for n in range(4)]
    body = read(forum, channel_id, target_message_id=ids[1], direction="future").json()
    assert [m["id"] for m in body["messages"]] == ids[2:]


def test_a_non_member_cannot_read_403(forum):
    assert read(forum, pair_channel(forum), as_user="lee").status_code == 403


def test_a_read_back_message_has_the_serializer_fields(forum):
    channel_id = pair_channel(forum)
    post(forum, channel_id, "Welcome!")
    message = read(forum, channel_id).json()["messages"][0]
    assert message["message"] == "Welcome!" and message["cooked"] == "<p>Welcome!</p>"
    assert message["chat_channel_id"] == channel_id
    assert message["user"]["username"] == "mentor_bot"


# ----- members writing, and the webhook body -------------------------------------------------


def test_a_members_message_is_seen_by_the_bots_read_back(forum):
    channel_id = pair_channel(forum)
    forum.chat_as("maya", channel_id, "!done")
    assert [m["message"] for m in read(forum, channel_id).json()["messages"]] == ["!done"]


def test_chat_as_answers_the_chat_message_webhook_body(forum):
    body = forum.chat_as("maya", pair_channel(forum), "!done")
    assert set(body) == {"chat_message"}
    assert body["chat_message"]["message"]["message"] == "!done"
    assert body["chat_message"]["message"]["user"]["username"] == "maya"


def test_the_webhook_channel_users_leave_the_author_out(forum):
    body = forum.chat_as("maya", pair_channel(forum), "hello")
    users = body["chat_message"]["channel"]["chatable"]["users"]
    assert [u["username"] for u in users] == ["mentor_bot", "sam"]


def test_chat_as_refuses_a_non_member(forum):
    with pytest.raises(ValueError):
        forum.chat_as("lee", pair_channel(forum), "hello")


def test_chat_channel_of_finds_the_newest_channel_of_the_users_and_the_bot(forum):
    open_dm(forum, ["maya", "sam"])
    newest = open_dm(forum, ["maya", "sam"]).json()["channel"]["id"]
    found = forum.chat_channel_of("maya", "sam")
    assert found is not None and found.id == newest


# ----- the request check and injected failures -----------------------------------------------


def test_a_chat_request_with_an_unknown_param_is_a_violation(forum):
    response = open_dm(forum, ["maya"], usernames="maya")
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("chat api: ")
    assert any("'usernames'" in v for v in forum.violations)
    forum.violations.clear()


def test_a_chat_param_of_the_wrong_type_is_a_violation(forum):
    response = requests.post(
        f"{forum.url}/chat/{pair_channel(forum)}.json",
        json={"message": ["not", "text"]},
        headers=headers("mentor_bot"),
    )
    assert response.status_code == 400 and len(forum.violations) == 1
    forum.violations.clear()


def test_accept_then_fail_next_stores_the_message_and_answers_500(forum):
    channel_id = pair_channel(forum)
    forum.accept_then_fail_next("POST", rf"^/chat/{channel_id}\.json$", 500)
    assert post(forum, channel_id, "Welcome!").status_code == 500
    assert forum.chat_messages_by("mentor_bot") == ["Welcome!"]


def test_fail_next_on_a_chat_path_answers_without_storing(forum):
    channel_id = pair_channel(forum)
    forum.fail_next("POST", r"^/chat/\d+\.json$", 502)
    assert post(forum, channel_id, "Welcome!").status_code == 502
    assert forum.chat_messages_by("mentor_bot") == []


# ----- the fixtures keep the fake's shape ----------------------------------------------------

CHAT_FIXTURES = sorted(p.stem for p in FIXTURES.glob("chat_message__*.json"))


def key_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The keys that matter to a receiver: message, message user, channel (top level)."""
    inner = body["chat_message"]
    return {
        "root": set(body),
        "payload": set(inner),
        "message": set(inner["message"]) - {"edited"},  # present only on an edited message
        "user": set(inner["message"]["user"]),
        "channel": set(inner["channel"]),
    }


@pytest.mark.parametrize("name", CHAT_FIXTURES)
def test_a_chat_fixture_has_the_keys_chat_as_produces(forum, name):
    produced = forum.chat_as("maya", pair_channel(forum), "hello")
    stored = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert key_shape(stored) == key_shape(produced)


@pytest.mark.parametrize("name", [n for n in CHAT_FIXTURES if "public_channel" not in n])
def test_a_dm_fixture_lists_chatable_users_as_the_fake_does(forum, name):
    produced = forum.chat_as("maya", pair_channel(forum), "hello")
    stored = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    users = [stored, produced]
    keys = [
        {k for u in b["chat_message"]["channel"]["chatable"]["users"] for k in u} for b in users
    ]
    assert (
        keys[0] == keys[1] and stored["chat_message"]["channel"]["chatable_type"] == "DirectMessage"
    )


def test_chat_turned_off_site_wide_answers_404(forum):
    forum.chat.settings.enabled = False
    assert open_dm(forum, ["maya"]).status_code == 404
