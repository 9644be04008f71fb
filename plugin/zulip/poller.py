"""Zulip's event queue: membership and deactivations, which outgoing webhooks never carry.

docs/forums/zulip.md §2. For each Zulip forum the worker keeps one queue (user_group and realm_user
events), whose id and last-read event id live in `zulip_queues`. One poller at a time holds
the row's lease; what it reads goes into the inbox under the event names the domain
handlers consume, and only then is last_event_id advanced (Zulip drops events once a later
poll acknowledges them), so a crash re-reads rather than loses. Event ids are part of each
content key, so re-reading stores nothing twice.

`worker --once` polls with dont_block (the PERIODIC job); a long-running worker long-polls
in one thread per forum (`listen`, started by Worker.run_forever). A queue unused for 10
minutes is garbage-collected: BAD_EVENT_QUEUE_ID. Then we register a new one and, because
events in the gap are lost, have the open programs reconciled and catch deactivations
from the new queue's initial state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.engine.adapter import BudgetExhausted, ForumAdapter, ForumError, ForumRateLimited
from plugin.engine.budget import budget_gate, pause_forum
from plugin.engine.clock import Clock
from plugin.engine.inbox import store
from plugin.engine.leases import worker_name
from plugin.storage.db import (
    DATABASE_ERRORS,
    log_database_error,
    reading,
    transaction,
    upsert_ignore,
)
from plugin.storage.models import Forum, Member, Program, utcnow
from plugin.storage.states import ProgramState
from plugin.zulip.client import LONGPOLL_TIMEOUT, QueueExpired, ZulipClient, connect
from plugin.zulip.events import deactivated, queue_events
from plugin.zulip.models import ZulipQueue

log = logging.getLogger(__name__)
EVENT_TYPES = ["user_group", "realm_user"]
# The initial state we need: who is deactivated (realm_non_active_users). Group membership
# is reconciled by the domain's own job, which asks group_members().
FETCH_EVENT_TYPES = ["realm_user"]
SHORT_LEASE = timedelta(seconds=60)
LONG_LEASE = timedelta(seconds=LONGPOLL_TIMEOUT[1] + 30)
RETRY_SECONDS = 5.0  # a listener's pause after a failed or skipped poll
NEW_FORUMS_SECONDS = 30.0  # how often `listen` looks for newly added Zulip forums
PROCESS = worker_name()

_listening: set[int] = set()  # forums a long-poll thread of this process looks after


def _owner() -> str:
    return f"{PROCESS}:{threading.get_ident()}"


def _claim(
    factory: sessionmaker[Session], forum_id: int, owner: str, lease: timedelta
) -> tuple[str | None, int] | None:
    """Lease the forum's queue row; (queue_id, last_event_id), or None if someone has it."""
    now = utcnow()
    with transaction(factory) as session:
        upsert_ignore(session, ZulipQueue.__table__, {"forum_id": forum_id, "last_event_id": -1})
        row = session.execute(
            select(ZulipQueue).where(ZulipQueue.forum_id == forum_id).with_for_update()
        ).scalar_one()
        if row.lease_owner not in (None, owner) and row.lease_until and row.lease_until > now:
            return None
        row.lease_owner, row.lease_until = owner, now + lease
        return row.queue_id, row.last_event_id


def _mine(session: Session, forum_id: int, owner: str) -> ZulipQueue | None:
    row = session.execute(
        select(ZulipQueue).where(ZulipQueue.forum_id == forum_id).with_for_update()
    ).scalar_one()
    return row if row.lease_owner == owner else None


def _release(factory: sessionmaker[Session], forum_id: int, owner: str) -> None:
    with transaction(factory) as session:
        row = _mine(session, forum_id, owner)
        if row is not None:
            row.lease_owner = row.lease_until = None


def _register(
    factory: sessionmaker[Session], client: ZulipClient, forum_id: int, owner: str
) -> int:
    state = client.register(EVENT_TYPES, FETCH_EVENT_TYPES)
    gone = {int(u["user_id"]) for u in state.get("realm_non_active_users") or []}
    with transaction(factory) as session:
        row = _mine(session, forum_id, owner)
        if row is None:
            return 0  # our lease ran out; the new holder registers its own queue
        row.queue_id, row.last_event_id = state["queue_id"], int(state["last_event_id"])
        row.registered_at = utcnow()
        # Whatever happened while no queue listened is caught up: membership by the
        # domain's reconciliation (reconciled_at None = due now), deactivations here.
        for program in session.execute(
            select(Program).where(Program.forum_id == forum_id, Program.state == ProgramState.OPEN)
        ).scalars():
            program.reconciled_at = None
        known = session.execute(
            select(Member.forum_user_id).where(
                Member.forum_id == forum_id, Member.erased.is_(False)
            )
        ).scalars()
        for user_id in set(known) & gone:
            store(session, forum_id, None, deactivated(user_id))
    log.info("zulip forum %s: registered event queue %s", forum_id, state["queue_id"])
    return 1


def _store(
    factory: sessionmaker[Session], forum_id: int, owner: str, queue_id: str, events: list[dict]
) -> int:
    with transaction(factory) as session:
        for event in events:
            for stored in queue_events(event, queue_id):
                store(session, forum_id, None, stored)
        row = _mine(session, forum_id, owner)
        newest = max((int(e["id"]) for e in events), default=-1)
        if row is not None and row.queue_id == queue_id and newest > row.last_event_id:
            row.last_event_id = newest
    # Heartbeats are not progress: `worker --once` stops when a poll brings nothing else.
    return sum(e.get("type") != "heartbeat" for e in events)


def poll_forum(
    factory: sessionmaker[Session],
    client: ZulipClient,
    forum_id: int,
    clock: Clock,
    *,
    owner: str,
    block: bool,
) -> int | None:
    """One poll of the forum's queue; events read (or 1 for a new queue), None if skipped."""
    claimed = _claim(factory, forum_id, owner, LONG_LEASE if block else SHORT_LEASE)
    if claimed is None:
        return None
    queue_id, last_event_id = claimed
    try:
        if queue_id is None:
            return _register(factory, client, forum_id, owner)
        try:
            events = client.get_events(queue_id, last_event_id, block=block)
        except QueueExpired:
            log.warning("zulip forum %s: event queue %s expired; registering", forum_id, queue_id)
            return _register(factory, client, forum_id, owner)
        return _store(factory, forum_id, owner, queue_id, events)
    except BudgetExhausted:
        return None
    except ForumRateLimited as exc:
        with transaction(factory) as session:  # every worker holds off, not only this one
            pause_forum(session, forum_id, clock.now() + timedelta(seconds=exc.retry_after))
        return None
    except ForumError as exc:
        log.warning("zulip forum %s: polling failed: %s", forum_id, exc)
        return None
    finally:
        _release(factory, forum_id, owner)


def _zulip_forums(factory: sessionmaker[Session]) -> list[int]:
    with reading(factory) as session:
        return list(session.execute(select(Forum.id).where(Forum.kind == "zulip")).scalars())


def _client(adapter_for: Callable[[int], ForumAdapter], forum_id: int) -> ZulipClient:
    """The adapter of a Zulip forum, which is always its ZulipClient."""
    return cast(ZulipClient, adapter_for(forum_id))


def poll_zulip(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
) -> int:
    """PERIODIC job: poll every Zulip forum's queue without blocking."""
    done = 0
    for forum_id in _zulip_forums(factory):
        if forum_id in _listening:
            continue  # this process long-polls it in a thread
        done += (
            poll_forum(
                factory,
                _client(adapter_for, forum_id),
                forum_id,
                clock,
                owner=_owner(),
                block=False,
            )
            or 0
        )
    return done


def _listen_forum(
    factory: sessionmaker[Session],
    forum_id: int,
    clock: Clock,
    stopping: threading.Event,
    allowed: frozenset[str],
) -> None:
    try:
        # A thread of its own needs an adapter of its own: a requests.Session is not
        # thread-safe. The shared budget gate still counts its calls.
        with reading(factory) as session:
            forum = session.get_one(Forum, forum_id)
            client = connect(forum, budget_gate(factory, forum_id, clock), allowed)
        owner = _owner()
        while not stopping.is_set():
            try:
                polled = poll_forum(factory, client, forum_id, clock, owner=owner, block=True)
            except Exception as exc:  # noqa: BLE001 - e.g. the database restarting: try again
                log_database_error(log, f"zulip forum {forum_id}: listener pass failed", exc)
                polled = None
            if polled is None:
                stopping.wait(RETRY_SECONDS)
    finally:
        _listening.discard(forum_id)


def listen(
    factory: sessionmaker[Session], clock: Clock, config: Config, stopping: threading.Event
) -> None:
    """Worker LISTENERS entry: one long-polling thread per Zulip forum, until stopping."""
    threads: dict[int, threading.Thread] = {}
    while not stopping.is_set():
        try:
            forum_ids = _zulip_forums(factory)
        except DATABASE_ERRORS as exc:  # the database restarting: look again next time
            log_database_error(log, "zulip listeners: could not list the forums", exc)
            forum_ids = []
        for forum_id in forum_ids:
            if forum_id not in threads or not threads[forum_id].is_alive():
                _listening.add(forum_id)  # before the PERIODIC job of this process looks
                threads[forum_id] = threading.Thread(
                    target=_listen_forum,
                    args=(factory, forum_id, clock, stopping, config.allowed_internal_hosts),
                    name=f"zulip-events-{forum_id}",
                    daemon=True,
                )
                threads[forum_id].start()
        stopping.wait(NEW_FORUMS_SECONDS)
    for thread in threads.values():  # each ends after its current long-poll
        thread.join(timeout=LONGPOLL_TIMEOUT[1])
