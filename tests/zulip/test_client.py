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
from tests.helpers import LOOPBACK, serve_checked

KEY, BOT = "test-key", "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"


@pytest.fixture
def zulip_org():
    """An organisation with an owner, an admin, a bot admin, and sam and maya in mentees."""
    zulip_org = FakeZulip(api_key=KEY, bot_email=BOT)
    zulip_org.add_user("owner@example.com", id=4, full_name="Olga Owner", role=OWNER)
    zulip_org.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    zulip_org.add_user("helper-bot@example.com", id=6, role=ADMIN, is_bot=True)
    zulip_org.add_user(SAM, id=41, full_name="Sam Rivera", timezone="Europe/Berlin")
    zulip_org.add_user(MAYA, id=42, full_name="Maya Lee")
    zulip_org.add_group("mentees", id=44, members=[MAYA, SAM])
    with serve_checked(zulip_org):
        yield zulip_org


@pytest.fixture
def zulip_api(zulip_org) -> ZulipClient:
    return ZulipClient(zulip_org.url, BOT, KEY, allowed_hosts=LOOPBACK)


def opened(zulip_api: ZulipClient, marker: str = "m1") -> SentPost:
    return zulip_api.open_thread("Mentorship: Sam & Maya", "Welcome!", [SAM, MAYA], marker)


# ----- writes -------------------------------------------------------------------------------


def test_open_thread_sends_one_group_dm_to_the_members_ids_with_a_marker(zulip_org, zulip_api):
    sent = opened(zulip_api, "abc123")
    [send] = zulip_org.calls("send-message")
    assert send.param("type") == "direct" and send.param("to") == [41, 42]
    [message] = zulip_org.conversation(SAM, MAYA)
    assert message.content.startswith("**Mentorship: Sam & Maya**\n\nWelcome!")
    assert marker_line("abc123") in message.content
    assert sent == SentPost(thread="41,42", post_id=str(message.id))


def test_a_thread_is_named_by_the_sorted_ids_of_the_members_not_the_bot(zulip_api):
    sent = zulip_api.open_thread("Hi", "Welcome!", [MAYA, SAM], "m1")
    assert sent.thread == "41,42"


def test_post_sends_to_the_same_conversation(zulip_org, zulip_api):
    thread = opened(zulip_api).thread
    sent = zulip_api.post(thread, "Step 2", "m2")
    messages = zulip_org.conversation(SAM, MAYA)
    assert len(messages) == 2 and sent == SentPost(thread, str(messages[-1].id))


def test_requests_carry_basic_auth_with_the_bots_email_and_key(zulip_org, zulip_api):
    zulip_api.get_user(MAYA)
    header = zulip_org.requests[-1].headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == f"{BOT}:{KEY}"


def test_a_recipients_id_is_looked_up_once(zulip_org, zulip_api):
    opened(zulip_api, "m1")
    opened(zulip_api, "m2")
    assert len(zulip_org.calls("get-user-by-email")) == 2  # Sam and Maya, once each


# ----- finding what we may already have sent ------------------------------------------------


def test_find_thread_finds_the_conversation_by_its_marker(zulip_api):
    sent = opened(zulip_api, "abc123")
    zulip_api.open_thread("Other", "Hello", [MAYA], "other")
    assert zulip_api.find_thread("abc123") == sent


def test_find_thread_returns_none_for_an_unknown_marker(zulip_api):
    opened(zulip_api)
    assert zulip_api.find_thread("never-sent") is None


def test_find_post_finds_our_message_by_its_marker(zulip_api):
    thread = opened(zulip_api).thread
    sent = zulip_api.post(thread, "Step 2", "m2")
    assert zulip_api.find_post(thread, "m2") == sent


def test_find_post_ignores_a_message_to_anyone_outside_the_thread(zulip_api):
    zulip_api.open_thread("Maya and Olga", "Hello", [MAYA, "owner@example.com"], "m9")
    thread = opened(zulip_api).thread
    assert zulip_api.find_post(thread, "m9") is None


def test_finding_reads_raw_markdown_of_the_bots_own_direct_messages(zulip_org, zulip_api):
    thread = opened(zulip_api).thread
    zulip_api.find_post(thread, "m1")
    [read] = zulip_org.calls("get-messages")
    assert read.param("apply_markdown") is False
    assert read.param("narrow") == [
        {"operator": "is", "operand": "dm"},
        {"operator": "sender", "operand": BOT},
    ]


def test_post_reaches_the_remaining_members_when_one_was_deactivated(zulip_org, zulip_api):
    thread = opened(zulip_api).thread
    zulip_org.deactivate(MAYA)
    sent = zulip_api.post(thread, "Your partner's account is gone.", "m2")
    [notice] = zulip_org.conversation(SAM)
    assert sent == SentPost(thread, str(notice.id)) and notice.content.startswith("Your partner")
    assert zulip_api.find_post(thread, "m2") == sent


def test_post_refused_with_nobody_left_is_raised(zulip_org, zulip_api):
    thread = opened(zulip_api).thread
    zulip_org.deactivate(MAYA)
    zulip_org.deactivate(SAM)
    with pytest.raises(ForumRejected):
        zulip_api.post(thread, "Anyone?", "m2")


# ----- users and groups -------------------------------------------------------------------------


def test_get_user_returns_a_forum_user_named_by_email(zulip_api):
    assert zulip_api.get_user(SAM) == ForumUser(41, SAM, "Sam Rivera", timezone="Europe/Berlin")


def test_get_user_by_id_returns_a_forum_user(zulip_api):
    assert zulip_api.get_user_by_id(42) == ForumUser(42, MAYA, "Maya Lee")


@pytest.mark.parametrize(
    "call", [lambda c: c.get_user("nobody@example.com"), lambda c: c.get_user_by_id(999)]
)
def test_an_unknown_user_raises_forum_not_found(zulip_api, call):
    with pytest.raises(ForumNotFound):
        call(zulip_api)


def test_get_group_reads_register_state_and_frees_the_queue(zulip_org, zulip_api):
    assert zulip_api.get_group("mentees") == ForumGroup(44, "mentees")
    [register] = zulip_org.calls("register-queue")
    assert register.param("fetch_event_types") == ["realm_user_groups"]
    assert zulip_org.calls("delete-queue") and zulip_org.queues == {}


def test_expertise_is_none_and_asks_zulip_nothing(zulip_org, zulip_api):
    assert zulip_api.expertise("maya@example.com") is None
    assert zulip_org.requests == []


def test_default_language_is_the_realm_default_language(zulip_org, zulip_api):
    zulip_org.realm_default_language = "de"
    assert zulip_api.default_language() == "de"


def test_default_language_asks_register_for_the_realm_and_frees_the_queue(zulip_org, zulip_api):
    zulip_api.default_language()
    [register] = zulip_org.calls("register-queue")
    assert register.param("fetch_event_types") == ["realm"]
    assert len(zulip_org.calls("delete-queue")) == 1
    assert zulip_org.queues == {}  # the snapshot's queue is gone, not left for the GC


def test_a_zulip_user_names_no_language_of_their_own(zulip_api):
    user = zulip_api.get_user(SAM)
    assert (user.locale, user.locale_known) == (None, False)


def test_get_group_by_id_returns_the_group(zulip_api):
    assert zulip_api.get_group_by_id(44) == ForumGroup(44, "mentees")


@pytest.mark.parametrize("call", [lambda c: c.get_group("nope"), lambda c: c.get_group_by_id(9)])
def test_an_unknown_group_raises_forum_not_found(zulip_api, call):
    with pytest.raises(ForumNotFound):
        call(zulip_api)


def test_group_members_are_its_active_human_members(zulip_org, zulip_api):
    zulip_org.add_member("mentees", "helper-bot@example.com")
    zulip_org.deactivate(SAM)
    assert [u.username for u in zulip_api.group_members("mentees")] == [MAYA]


def test_list_admins_is_the_owners_and_administrators_not_bots(zulip_api):
    admins = zulip_api.list_admins()
    assert [u.username for u in admins] == ["owner@example.com", "alice@example.com"]
    assert all(u.admin for u in admins)


# ----- errors -----------------------------------------------------------------------------------


def test_a_bad_api_key_raises_forum_auth_error_with_zulips_message(zulip_org):
    with pytest.raises(ForumAuthError) as caught:
        ZulipClient(zulip_org.url, BOT, "wrong-key", allowed_hosts=LOOPBACK).get_user(MAYA)
    assert caught.value.status == 401 and caught.value.errors == ["Invalid API key"]


def test_a_deactivated_recipient_raises_forum_rejected(zulip_org, zulip_api):
    zulip_org.deactivate(MAYA)
    with pytest.raises(ForumRejected) as caught:
        opened(zulip_api)
    assert "no longer using Zulip" in caught.value.errors[0]


def test_a_429_raises_rate_limited_with_its_float_retry_after(zulip_org, zulip_api):
    zulip_org.fail_next("POST", r"/messages$", 429, headers={"Retry-After": "2.5"})
    with pytest.raises(ForumRateLimited) as caught:
        zulip_api.post("41,42", "hi", "m1")
    assert caught.value.retry_after == 2.5 and zulip_org.conversation(SAM, MAYA) == []


def test_no_remaining_requests_hold_the_next_call_without_sending_it(zulip_org, zulip_api):
    zulip_org.rate_limit_per_minute = 2
    zulip_api.get_user(SAM)
    zulip_api.get_user(MAYA)  # answered with X-RateLimit-Remaining: 0
    with pytest.raises(ForumRateLimited) as caught:
        zulip_api.get_user_by_id(41)
    assert len(zulip_org.requests) == 2 and 0 < caught.value.retry_after <= 61


def test_a_500_raises_forum_unavailable(zulip_org, zulip_api):
    zulip_org.fail_next("GET", r"/users/", 500)
    with pytest.raises(ForumUnavailable):
        zulip_api.get_user(MAYA)


def test_a_closed_port_raises_forum_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ForumUnavailable):
        ZulipClient(f"http://127.0.0.1:{port}", BOT, KEY, allowed_hosts=LOOPBACK).get_user(MAYA)


# ----- budget and the event queue ---------------------------------------------------------------


def test_the_gate_is_called_once_before_every_request(zulip_org):
    calls = []
    zulip_api = ZulipClient(
        zulip_org.url,
        BOT,
        KEY,
        allowed_hosts=LOOPBACK,
        gate=lambda: calls.append(len(zulip_org.requests)),
    )
    opened(zulip_api)
    assert calls == [0, 1, 2] and len(zulip_org.requests) == 3


def test_budget_exhausted_from_the_gate_means_no_request(zulip_org):
    def gate():
        raise BudgetExhausted(datetime(2030, 1, 1, tzinfo=UTC))

    with pytest.raises(BudgetExhausted):
        ZulipClient(zulip_org.url, BOT, KEY, allowed_hosts=LOOPBACK, gate=gate).get_user(MAYA)
    assert zulip_org.requests == []


def test_get_events_without_blocking_asks_dont_block(zulip_org, zulip_api):
    queue = zulip_api.register(["user_group"], [])["queue_id"]
    zulip_api.get_events(queue, -1, block=False)
    assert zulip_org.requests[-1].param("dont_block") is True and zulip_org.long_polls == 0


def test_get_events_blocking_long_polls_until_a_heartbeat(zulip_org, zulip_api):
    queue = zulip_api.register(["user_group"], [])["queue_id"]
    assert [e["type"] for e in zulip_api.get_events(queue, -1, block=True)] == ["heartbeat"]
    assert zulip_org.requests[-1].param("dont_block") is None and zulip_org.long_polls == 1


def test_an_expired_queue_raises_queue_expired(zulip_org, zulip_api):
    queue = zulip_api.register(["user_group"], [])["queue_id"]
    zulip_org.expire_queues()
    with pytest.raises(QueueExpired):
        zulip_api.get_events(queue, -1, block=False)
