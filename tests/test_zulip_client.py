"""ZulipClient against the fake Zulip over real HTTP (every call checked against zulip.yaml)."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime

import pytest

from plugin.engine.adapter import (
    BudgetExhausted,
    ForumAuthError,
    ForumGroup,
    ForumNotFound,
    ForumRateLimited,
    ForumRejected,
    ForumUnavailable,
    ForumUser,
    SentPost,
)
from plugin.zulip.client import QueueExpired, ZulipClient, marker_line
from tests.fakes.zulip import FakeZulip
from tests.fakes.zulip_state import ADMIN, OWNER
from tests.helpers import LOOPBACK

KEY, BOT = "test-key", "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"


@pytest.fixture
def fake():
    fake = FakeZulip(api_key=KEY, bot_email=BOT)
    fake.add_user("owner@example.com", id=4, full_name="Olga Owner", role=OWNER)
    fake.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    fake.add_user("helper-bot@example.com", id=6, role=ADMIN, is_bot=True)
    fake.add_user(SAM, id=41, full_name="Sam Rivera", timezone="Europe/Berlin")
    fake.add_user(MAYA, id=42, full_name="Maya Lee")
    fake.add_group("mentees", id=44, members=[MAYA, SAM])
    with fake.serve():
        yield fake
    fake.assert_valid()


@pytest.fixture
def client(fake) -> ZulipClient:
    return ZulipClient(fake.url, BOT, KEY, allowed_hosts=LOOPBACK)


def opened(client: ZulipClient, marker: str = "m1") -> SentPost:
    return client.open_thread("Mentorship: Sam & Maya", "Welcome!", [SAM, MAYA], marker)


# ----- writes -------------------------------------------------------------------------------


def test_open_thread_sends_one_group_dm_to_the_members_ids_with_a_marker(fake, client):
    sent = opened(client, "abc123")
    [send] = fake.calls("send-message")
    assert send.param("type") == "direct" and send.param("to") == [41, 42]
    [message] = fake.conversation(SAM, MAYA)
    assert message.content.startswith("**Mentorship: Sam & Maya**\n\nWelcome!")
    assert marker_line("abc123") in message.content
    assert sent == SentPost(thread="41,42", post_id=str(message.id))


def test_a_thread_is_named_by_the_sorted_ids_of_the_members_not_the_bot(client):
    sent = client.open_thread("Hi", "Welcome!", [MAYA, SAM], "m1")
    assert sent.thread == "41,42"


def test_post_sends_to_the_same_conversation(fake, client):
    thread = opened(client).thread
    sent = client.post(thread, "Step 2", "m2")
    messages = fake.conversation(SAM, MAYA)
    assert len(messages) == 2 and sent == SentPost(thread, str(messages[-1].id))


def test_requests_carry_basic_auth_with_the_bots_email_and_key(fake, client):
    client.get_user(MAYA)
    header = fake.requests[-1].headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == f"{BOT}:{KEY}"


def test_a_recipients_id_is_looked_up_once(fake, client):
    opened(client, "m1")
    opened(client, "m2")
    assert len(fake.calls("get-user-by-email")) == 2  # Sam and Maya, once each


# ----- finding what we may already have sent ------------------------------------------------


def test_find_thread_finds_the_conversation_by_its_marker(client):
    sent = opened(client, "abc123")
    client.open_thread("Other", "Hello", [MAYA], "other")
    assert client.find_thread("abc123") == sent


def test_find_thread_returns_none_for_an_unknown_marker(client):
    opened(client)
    assert client.find_thread("never-sent") is None


def test_find_post_finds_our_message_by_its_marker(client):
    thread = opened(client).thread
    sent = client.post(thread, "Step 2", "m2")
    assert client.find_post(thread, "m2") == sent


def test_find_post_ignores_a_message_to_anyone_outside_the_thread(client):
    client.open_thread("Maya and Olga", "Hello", [MAYA, "owner@example.com"], "m9")
    thread = opened(client).thread
    assert client.find_post(thread, "m9") is None


def test_finding_reads_raw_markdown_of_the_bots_own_direct_messages(fake, client):
    thread = opened(client).thread
    client.find_post(thread, "m1")
    [read] = fake.calls("get-messages")
    assert read.param("apply_markdown") is False
    assert read.param("narrow") == [
        {"operator": "is", "operand": "dm"},
        {"operator": "sender", "operand": BOT},
    ]


def test_post_reaches_the_remaining_members_when_one_was_deactivated(fake, client):
    thread = opened(client).thread
    fake.deactivate(MAYA)
    sent = client.post(thread, "Your partner's account is gone.", "m2")
    [notice] = fake.conversation(SAM)
    assert sent == SentPost(thread, str(notice.id)) and notice.content.startswith("Your partner")
    assert client.find_post(thread, "m2") == sent


def test_post_refused_with_nobody_left_is_raised(fake, client):
    thread = opened(client).thread
    fake.deactivate(MAYA)
    fake.deactivate(SAM)
    with pytest.raises(ForumRejected):
        client.post(thread, "Anyone?", "m2")


# ----- users and groups -------------------------------------------------------------------------


def test_get_user_returns_a_forum_user_named_by_email(client):
    assert client.get_user(SAM) == ForumUser(41, SAM, "Sam Rivera", timezone="Europe/Berlin")


def test_get_user_by_id_returns_a_forum_user(client):
    assert client.get_user_by_id(42) == ForumUser(42, MAYA, "Maya Lee")


@pytest.mark.parametrize(
    "call", [lambda c: c.get_user("nobody@example.com"), lambda c: c.get_user_by_id(999)]
)
def test_an_unknown_user_raises_forum_not_found(client, call):
    with pytest.raises(ForumNotFound):
        call(client)


def test_get_group_reads_register_state_and_frees_the_queue(fake, client):
    assert client.get_group("mentees") == ForumGroup(44, "mentees")
    [register] = fake.calls("register-queue")
    assert register.param("fetch_event_types") == ["realm_user_groups"]
    assert fake.calls("delete-queue") and fake.queues == {}


def test_get_group_by_id_returns_the_group(client):
    assert client.get_group_by_id(44) == ForumGroup(44, "mentees")


@pytest.mark.parametrize("call", [lambda c: c.get_group("nope"), lambda c: c.get_group_by_id(9)])
def test_an_unknown_group_raises_forum_not_found(client, call):
    with pytest.raises(ForumNotFound):
        call(client)


def test_group_members_are_its_active_human_members(fake, client):
    fake.add_member("mentees", "helper-bot@example.com")
    fake.deactivate(SAM)
    assert [u.username for u in client.group_members("mentees")] == [MAYA]


def test_list_admins_is_the_owners_and_administrators_not_bots(client):
    admins = client.list_admins()
    assert [u.username for u in admins] == ["owner@example.com", "alice@example.com"]
    assert all(u.admin for u in admins)


# ----- errors -----------------------------------------------------------------------------------


def test_a_bad_api_key_raises_forum_auth_error_with_zulips_message(fake):
    with pytest.raises(ForumAuthError) as caught:
        ZulipClient(fake.url, BOT, "wrong-key", allowed_hosts=LOOPBACK).get_user(MAYA)
    assert caught.value.status == 401 and caught.value.errors == ["Invalid API key"]


def test_a_deactivated_recipient_raises_forum_rejected(fake, client):
    fake.deactivate(MAYA)
    with pytest.raises(ForumRejected) as caught:
        opened(client)
    assert "no longer using Zulip" in caught.value.errors[0]


def test_a_429_raises_rate_limited_with_its_float_retry_after(fake, client):
    fake.fail_next("POST", r"/messages$", 429, headers={"Retry-After": "2.5"})
    with pytest.raises(ForumRateLimited) as caught:
        client.post("41,42", "hi", "m1")
    assert caught.value.retry_after == 2.5 and fake.conversation(SAM, MAYA) == []


def test_no_remaining_requests_hold_the_next_call_without_sending_it(fake, client):
    fake.rate_limit_per_minute = 2
    client.get_user(SAM)
    client.get_user(MAYA)  # answered with X-RateLimit-Remaining: 0
    with pytest.raises(ForumRateLimited) as caught:
        client.get_user_by_id(41)
    assert len(fake.requests) == 2 and 0 < caught.value.retry_after <= 61


def test_a_500_raises_forum_unavailable(fake, client):
    fake.fail_next("GET", r"/users/", 500)
    with pytest.raises(ForumUnavailable):
        client.get_user(MAYA)


def test_a_closed_port_raises_forum_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ForumUnavailable):
        ZulipClient(f"http://127.0.0.1:{port}", BOT, KEY, allowed_hosts=LOOPBACK).get_user(MAYA)


# ----- budget and the event queue ---------------------------------------------------------------


def test_the_gate_is_called_once_before_every_request(fake):
    calls = []
    client = ZulipClient(
        fake.url, BOT, KEY, allowed_hosts=LOOPBACK, gate=lambda: calls.append(len(fake.requests))
    )
    opened(client)
    assert calls == [0, 1, 2] and len(fake.requests) == 3


def test_budget_exhausted_from_the_gate_means_no_request(fake):
    def gate():
        raise BudgetExhausted(datetime(2030, 1, 1, tzinfo=UTC))

    with pytest.raises(BudgetExhausted):
        ZulipClient(fake.url, BOT, KEY, allowed_hosts=LOOPBACK, gate=gate).get_user(MAYA)
    assert fake.requests == []


def test_get_events_without_blocking_asks_dont_block(fake, client):
    queue = client.register(["user_group"], [])["queue_id"]
    client.get_events(queue, -1, block=False)
    assert fake.requests[-1].param("dont_block") is True and fake.long_polls == 0


def test_get_events_blocking_long_polls_until_a_heartbeat(fake, client):
    queue = client.register(["user_group"], [])["queue_id"]
    assert [e["type"] for e in client.get_events(queue, -1, block=True)] == ["heartbeat"]
    assert fake.requests[-1].param("dont_block") is None and fake.long_polls == 1


def test_an_expired_queue_raises_queue_expired(fake, client):
    queue = client.register(["user_group"], [])["queue_id"]
    fake.expire_queues()
    with pytest.raises(QueueExpired):
        client.get_events(queue, -1, block=False)
