"""The Zulip event-queue poller: membership and deactivations into the inbox, exactly once."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from plugin.domain.signups import upsert_member
from plugin.engine.adapter import ForumUser
from plugin.engine.clock import Clock
from plugin.forums.connections import adapter_factory, add_forum
from plugin.storage.db import transaction
from plugin.storage.models import Forum, InboxEvent
from plugin.zulip.models import ZulipQueue
from plugin.zulip.poller import listen, poll_zulip
from tests.helpers import LOOPBACK
from tests.zulip.support import BOT, MAYA, SAM

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def live_zforum(sessions, zulip):
    with transaction(sessions) as session:
        return add_forum(
            session,
            kind="zulip",
            name="zulip",
            url=zulip.url,
            allowed_hosts=LOOPBACK,
            api_key="test-key",
            bot_user=BOT,
            webhook_secret=zulip.webhook_token,
        )


def poll(sessions, config, at: datetime = T0) -> int:
    """One pass of the PERIODIC job, as `worker --once` runs it."""
    clock = Clock(at)
    adapter_for = adapter_factory(sessions, clock, allowed_hosts=config.allowed_internal_hosts)
    return poll_zulip(sessions, adapter_for, clock, config)


def stored(sessions) -> list[tuple[str, dict]]:
    with sessions() as session:
        rows = session.execute(select(InboxEvent).order_by(InboxEvent.id)).scalars()
        return [(r.event, json.loads(r.payload)) for r in rows]


def queue_row(sessions) -> ZulipQueue:
    with sessions() as session:
        return session.execute(select(ZulipQueue)).scalar_one()


def test_the_first_poll_registers_a_queue_for_user_groups_and_users(
    sessions, config, zulip, live_zforum
):
    assert poll(sessions, config) == 1
    [register] = zulip.calls("register-queue")
    assert register.param("event_types") == ["user_group", "realm_user"]
    assert register.param("fetch_event_types") == ["realm_user"]
    assert queue_row(sessions).queue_id in zulip.queues


def test_joining_a_user_group_is_stored_as_user_added_to_group(
    sessions, config, zulip, live_zforum
):
    poll(sessions, config)
    zulip.add_member("mentees", MAYA)
    assert poll(sessions, config) == 1
    assert stored(sessions) == [("user_added_to_group", {"group_id": 44, "user_id": 42})]


def test_leaving_a_user_group_is_stored_as_user_removed_from_group(
    sessions, config, zulip, live_zforum
):
    zulip.add_member("mentees", MAYA)
    poll(sessions, config)
    zulip.remove_member("mentees", MAYA)
    poll(sessions, config)
    assert stored(sessions) == [("user_removed_from_group", {"group_id": 44, "user_id": 42})]


def test_worker_once_polls_without_blocking(sessions, config, zulip, live_zforum):
    for _ in range(3):
        poll(sessions, config)
    reads = zulip.calls("get-events")
    assert len(reads) == 2 and all(r.param("dont_block") is True for r in reads)
    assert zulip.long_polls == 0


def test_the_next_poll_acknowledges_what_was_stored(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    zulip.add_member("mentees", MAYA)
    poll(sessions, config)
    assert queue_row(sessions).last_event_id == 0
    poll(sessions, config)
    assert zulip.calls("get-events")[-1].param("last_event_id") == 0


def test_events_read_again_after_a_lost_acknowledgement_are_stored_once(
    sessions, config, zulip, live_zforum
):
    poll(sessions, config)
    zulip.add_member("mentees", MAYA)
    poll(sessions, config)
    with transaction(sessions) as session:  # as if we died before saving last_event_id
        session.execute(update(ZulipQueue).values(last_event_id=-1))
    poll(sessions, config)
    assert len(stored(sessions)) == 1


def test_the_same_change_made_again_is_a_new_event(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    for _ in range(2):
        zulip.add_member("mentees", MAYA)
        zulip.remove_member("mentees", MAYA)
    poll(sessions, config)
    assert [e for e, _ in stored(sessions)] == [
        "user_added_to_group",
        "user_removed_from_group",
    ] * 2


def test_an_expired_queue_is_registered_again(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    first = queue_row(sessions).queue_id
    zulip.expire_queues()
    assert poll(sessions, config) == 1
    assert len(zulip.calls("register-queue")) == 2
    assert queue_row(sessions).queue_id not in (None, first)
    assert [r.status for r in zulip.calls("get-events")] == [400]


def test_a_deactivated_member_is_stored_as_user_destroyed(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    zulip.deactivate(MAYA)
    poll(sessions, config)
    assert stored(sessions) == [("user_destroyed", {"user_id": 42})]


def test_realm_user_remove_is_not_a_deletion(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    zulip.emit({"type": "realm_user", "op": "remove", "person": {"user_id": 42, "full_name": "M"}})
    poll(sessions, config)
    assert stored(sessions) == []


def test_a_member_deactivated_while_no_queue_listened_is_caught_on_registering(
    sessions, config, zulip, live_zforum
):
    with transaction(sessions) as session:
        for user_id, email in ((41, SAM), (42, MAYA)):
            upsert_member(session, live_zforum.id, ForumUser(user_id, email))
    zulip.deactivate(MAYA)  # no queue yet: the event reaches nobody
    poll(sessions, config)
    assert stored(sessions) == [("user_destroyed", {"user_id": 42})]


def test_a_429_on_the_poll_pauses_the_forum_until_retry_after(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    zulip.fail_next("GET", r"/events$", 429, headers={"Retry-After": "30.5"})
    assert poll(sessions, config) == 0
    with sessions() as session:
        assert session.get(Forum, live_zforum.id).paused_until == T0 + timedelta(seconds=30.5)
    before = len(zulip.requests)
    poll(sessions, config, T0 + timedelta(seconds=30))
    assert len(zulip.requests) == before  # every worker holds off until then


def test_a_queue_leased_by_another_poller_is_left_alone(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    with transaction(sessions) as session:
        busy = datetime.now(UTC) + timedelta(minutes=1)
        session.execute(update(ZulipQueue).values(lease_owner="other", lease_until=busy))
    requests = len(zulip.requests)
    assert poll(sessions, config) == 0 and len(zulip.requests) == requests


def test_a_dead_pollers_lease_is_taken_over(sessions, config, zulip, live_zforum):
    poll(sessions, config)
    with transaction(sessions) as session:
        gone = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(ZulipQueue).values(lease_owner="dead", lease_until=gone))
    zulip.add_member("mentees", MAYA)
    assert poll(sessions, config) == 1


def test_a_worker_running_forever_long_polls_and_stores_events(
    sessions, config, zulip, live_zforum
):
    stopping = threading.Event()
    thread = threading.Thread(target=listen, args=(sessions, Clock(), config, stopping))
    thread.start()
    try:
        wait_for(lambda: queue_row_or_none(sessions) is not None)
        zulip.add_member("mentees", MAYA)
        wait_for(lambda: stored(sessions))
    finally:
        stopping.set()
        thread.join(timeout=10)
    assert stored(sessions) == [("user_added_to_group", {"group_id": 44, "user_id": 42})]
    reads = zulip.calls("get-events")
    assert reads and all(r.param("dont_block") is None for r in reads)


def test_the_listener_survives_the_database_failing_to_list_the_forums(
    sessions, config, zulip, live_zforum, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from plugin.zulip import poller

    real, calls = poller._zulip_forums, []

    def flaky(factory):  # the first look finds the database restarting
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(factory)

    monkeypatch.setattr(poller, "_zulip_forums", flaky)
    monkeypatch.setattr(poller, "NEW_FORUMS_SECONDS", 0.05)
    stopping = threading.Event()
    thread = threading.Thread(target=listen, args=(sessions, Clock(), config, stopping))
    thread.start()
    try:
        wait_for(lambda: queue_row_or_none(sessions) is not None)
        assert thread.is_alive()
    finally:
        stopping.set()
        thread.join(timeout=10)
    assert len(calls) >= 2


def queue_row_or_none(sessions) -> str | None:
    with sessions() as session:
        return session.execute(select(ZulipQueue.queue_id)).scalar_one_or_none()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
