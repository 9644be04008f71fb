"""Outgoing webhooks (Standard Webhooks 1.0): registering hooks, queueing and delivering events.

An event is written as one delivery row per interested hook in the transaction of the change
that causes it (`enqueue_event`), so a rollback unsays it. The worker delivers rows under the
same leases and backoff as forum calls: each attempt is marked and committed before the POST,
and every attempt of a row carries the same body and `webhook-id`, so a receiver can drop a
repeat. The signature is `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
base64 bytes after `whsec_` in the hook's secret. Event types are the domain's; this module
knows none of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.engine.leases import backoff, claim, release, still_mine
from plugin.netguard import check_url, guarded_session
from plugin.storage.db import transaction
from plugin.storage.models import utcnow
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHook, WebHookDelivery

log = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"
MAX_ATTEMPTS = 12  # as the outbox: about a day and a half of backoff, then given up
TIMEOUT_SECONDS = 10.0
ANSWER_CAP_BYTES = 64 * 1024  # the answer is only read for its status
OPEN = (QueueState.PENDING, QueueState.SENDING)


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# -- the hooks ---------------------------------------------------------------------------


def events_of(hook: WebHook) -> list[str]:
    """The event types a hook asked for."""
    return list(json.loads(hook.events))


def add_hook(
    session: Session, url: str, events: Iterable[str], allowed_hosts: frozenset[str]
) -> WebHook:
    """Register a hook (the URL held to the forum URL rule; netguard.Refused says why not)."""
    check_url(url, allowed_hosts)
    hook = WebHook(url=url, events=json.dumps(list(events)), secret=new_secret())
    session.add(hook)
    session.flush()
    session.info.pop(_SUBSCRIPTIONS, None)
    return hook


def list_hooks(session: Session) -> list[WebHook]:
    """Every hook, oldest first."""
    return list(session.execute(select(WebHook).order_by(WebHook.id)).scalars())


def remove_hook(session: Session, hook_id: int) -> bool:
    """Remove a hook and every delivery it still had; False if there was no such hook."""
    hook = session.get(WebHook, hook_id)
    if hook is None:
        return False
    # Explicit, not only ON DELETE CASCADE: nothing pending may be sent once it is gone.
    session.execute(delete(WebHookDelivery).where(WebHookDelivery.hook_id == hook_id))
    session.delete(hook)
    session.info.pop(_SUBSCRIPTIONS, None)
    return True


def recent_deliveries(session: Session, limit: int = 50) -> list[WebHookDelivery]:
    """The latest deliveries of every hook, newest first."""
    stmt = select(WebHookDelivery).order_by(WebHookDelivery.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


# -- queueing ----------------------------------------------------------------------------

_SUBSCRIPTIONS = "mentorship.hook_subscriptions"  # session.info key


def _subscriptions(session: Session) -> list[tuple[int, list[str]]]:
    """(hook id, event types) of every hook, read once a transaction.

    Events come one per pair (a scheduler batch moves hundreds): reading the hooks, and
    decrypting their secrets, for each would cost more than the rest of the move.
    """
    transaction = session.get_transaction()
    cached = session.info.get(_SUBSCRIPTIONS)
    if cached is not None and cached[0] is transaction:
        return cached[1]
    rows = session.execute(select(WebHook.id, WebHook.events).order_by(WebHook.id)).all()
    subscriptions = [(hook_id, list(json.loads(events))) for hook_id, events in rows]
    session.info[_SUBSCRIPTIONS] = (transaction, subscriptions)
    return subscriptions


def wanting(session: Session, event_type: str) -> list[int]:
    """The ids of the hooks that want `event_type`, in the caller's transaction."""
    return [hook_id for hook_id, types in _subscriptions(session) if event_type in types]


def enqueue_event(session: Session, event_type: str, data: dict[str, Any], at: datetime) -> int:
    """One delivery per hook that wants `event_type`, in the caller's transaction; how many."""
    body = json.dumps(
        {"type": event_type, "timestamp": at.isoformat(), "data": data}, separators=(",", ":")
    )
    count = 0
    for hook_id in wanting(session, event_type):
        session.add(
            WebHookDelivery(
                hook_id=hook_id,
                message_id="msg_" + uuid.uuid4().hex,
                event_type=event_type,
                body=body,
                state=QueueState.PENDING,
                attempts=0,
                run_at=at,
                created_at=utcnow(),
            )
        )
        count += 1
    return count


def forget_naming(session: Session, values: Iterable[str], fields: Iterable[str]) -> int:
    """Delete deliveries not yet sent whose data has one of `values` in one of `fields`."""
    wanted, keys = set(values), tuple(fields)
    stmt = select(WebHookDelivery).where(WebHookDelivery.state.in_(OPEN))
    gone = 0
    for row in session.execute(stmt).scalars():
        data = json.loads(row.body or "{}").get("data", {})
        if any(data.get(key) in wanted for key in keys):
            session.delete(row)
            gone += 1
    return gone


# -- delivery ----------------------------------------------------------------------------


@dataclass
class HookPass:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0

    @property
    def progressed(self) -> int:
        """Deliveries this pass got through, answered 2xx or not."""
        return self.sent + self.failed


@dataclass(frozen=True)
class _Attempt:
    """A delivery marked as sending (and committed): what its POST needs."""

    url: str
    secret: str
    message_id: str
    body: str


def _begin(factory: sessionmaker[Session], row_id: int, owner: str) -> _Attempt | None:
    """Mark the row as sending and commit before the POST; None if it is no longer ours."""
    with transaction(factory) as session:
        if not still_mine(session, WebHookDelivery, row_id, owner):
            return None
        row = session.get_one(WebHookDelivery, row_id)
        hook = session.get(WebHook, row.hook_id)
        if hook is None or row.body is None:  # removed under us: nothing to send
            return None
        row.state = QueueState.SENDING
        row.attempts += 1
        return _Attempt(hook.url, hook.secret, row.message_id, row.body)


def post(http: requests.Session, attempt: _Attempt, now: datetime) -> int:
    """POST one signed attempt; the answer's status code (requests errors propagate)."""
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": attempt.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(attempt.secret, attempt.message_id, timestamp, attempt.body),
    }
    answer = http.post(
        attempt.url, data=attempt.body.encode("utf-8"), headers=headers, timeout=TIMEOUT_SECONDS
    )
    return answer.status_code


def _record(
    factory: sessionmaker[Session], row_id: int, owner: str, now: datetime, outcome: int | str
) -> bool:
    """Record an attempt's status code or error; True when the row was sent."""
    with transaction(factory) as session:
        row = session.get(WebHookDelivery, row_id)
        if row is None:  # its hook was removed during the POST
            return False
        values: dict[str, Any] = {}
        if isinstance(outcome, int):
            values["status_code"] = outcome
            error = None if 200 <= outcome < 300 else f"answered {outcome}"
        else:
            error = outcome[:1000]
        if error is None:
            values.update(state=QueueState.SENT, body=None, last_error=None, sent_at=now)
        elif row.attempts < MAX_ATTEMPTS:
            values.update(state=QueueState.PENDING, run_at=now + backoff(row.attempts))
            values["last_error"] = error
        else:  # given up: keep why, not what it said
            values.update(state=QueueState.DEAD, body=None, last_error=error)
        release(session, WebHookDelivery, row_id, owner, **values)
        return error is None


def _deliver_one(
    factory: sessionmaker[Session], http: requests.Session, row_id: int, owner: str, now: datetime
) -> bool | None:
    """One claimed row, one committed step at a time; None if it was not ours to send."""
    attempt = _begin(factory, row_id, owner)
    if attempt is None:
        return None
    outcome: int | str
    try:
        outcome = post(http, attempt, now)
    except Exception as exc:  # noqa: BLE001 - a refused address, a timeout: retried later
        # Only the kind of failure: requests' messages quote the URL, whose query may hold a
        # token, and the admin page shows this.
        outcome = f"no answer ({type(exc).__name__})"
    return _record(factory, row_id, owner, now, outcome)


def deliver_due(
    factory: sessionmaker[Session],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    allowed_hosts: frozenset[str] = frozenset(),
    http: requests.Session | None = None,
    limit: int = 20,
) -> HookPass:
    """Claim due deliveries and POST them, signed, one committed step at a time."""
    with transaction(factory) as session:
        ids = [
            r.id
            for r in claim(session, WebHookDelivery, owner=owner, now=now, lease=lease, limit=limit)
        ]
    result = HookPass()
    if not ids:
        return result
    # Through the forum URL rule on every connection, no redirects, a small answer cap; a
    # session made here is closed here, so passes leave no sockets behind.
    own = http is None
    client = http or guarded_session(allowed_hosts, ANSWER_CAP_BYTES)
    try:
        for row_id in ids:
            sent = _deliver_one(factory, client, row_id, owner, now)
            if sent is True:
                result.sent += 1
            elif sent is False:
                result.failed += 1
    finally:
        if own:
            client.close()
    return result
