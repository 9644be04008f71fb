"""Outgoing webhooks in the engine: signed as Standard Webhooks, retried, removed, refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text
from standardwebhooks.webhooks import Webhook

from plugin.engine import hooks
from plugin.netguard import Refused
from plugin.storage.db import transaction
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHook, WebHookDelivery
from tests.engine.hooks_support import Receiver, receiving
from tests.helpers import LOOPBACK

LEASE = timedelta(seconds=30)


def now() -> datetime:
    """The service's clock, near real time: Standard Webhooks refuses stale timestamps."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def receiver():
    with receiving() as r:
        yield r


def add(sessions, url: str, events=("thing.happened",)) -> tuple[int, str]:
    with transaction(sessions) as session:
        hook = hooks.add_hook(session, url, events, LOOPBACK)
        return hook.id, hook.secret


def emit(sessions, data=None, event_type="thing.happened", at=None) -> int:
    with transaction(sessions) as session:
        return hooks.enqueue_event(session, event_type, data or {"pair": 7}, at or now())


def deliver(sessions, at=None) -> hooks.HookPass:
    return hooks.deliver_due(
        sessions, owner="test-worker", now=at or now(), lease=LEASE, allowed_hosts=LOOPBACK
    )


def verified(receiver: Receiver, secret: str, index: int = -1) -> dict:
    got = receiver.requests[index]
    return Webhook(secret).verify(got.body, got.headers)


def test_a_delivery_verifies_with_the_standard_webhooks_library(sessions, receiver):
    _, secret = add(sessions, receiver.url)
    emit(sessions, {"pair": 7, "mentor": "maya"})
    deliver(sessions)
    doc = verified(receiver, secret)
    assert doc["type"] == "thing.happened" and doc["data"] == {"pair": 7, "mentor": "maya"}


def test_the_body_carries_the_event_timestamp_in_iso_8601(sessions, receiver):
    add(sessions, receiver.url)
    at = now()
    emit(sessions, at=at)
    deliver(sessions)
    assert json.loads(receiver.requests[0].body)["timestamp"] == at.isoformat()


def test_a_delivery_retried_after_a_503_keeps_its_id_and_verifies(sessions, receiver):
    _, secret = add(sessions, receiver.url)
    receiver.statuses = [503]
    emit(sessions)
    first = now()
    assert deliver(sessions, first).failed == 1
    assert deliver(sessions, first + timedelta(seconds=31)).sent == 1
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
    verified(receiver, secret)


def test_a_failed_delivery_waits_for_its_backoff(sessions, receiver):
    add(sessions, receiver.url)
    receiver.statuses = [500]
    emit(sessions)
    first = now()
    deliver(sessions, first)
    assert deliver(sessions, first + timedelta(seconds=5)).progressed == 0


def test_a_removed_hook_gets_nothing_more(sessions, receiver):
    hook_id, _ = add(sessions, receiver.url)
    receiver.statuses = [503]
    emit(sessions)
    deliver(sessions)
    with transaction(sessions) as session:
        assert hooks.remove_hook(session, hook_id)
    emit(sessions)
    deliver(sessions, now() + timedelta(hours=1))
    assert len(receiver.requests) == 1
    with sessions() as session:
        assert session.execute(select(WebHookDelivery)).first() is None


def test_a_hook_hears_only_the_types_it_asked_for(sessions, receiver):
    add(sessions, receiver.url, events=("other.thing",))
    assert emit(sessions) == 0
    deliver(sessions)
    assert receiver.requests == []


def test_each_event_gets_its_own_webhook_id(sessions, receiver):
    add(sessions, receiver.url)
    emit(sessions)
    emit(sessions)
    deliver(sessions)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2


def test_an_event_rolled_back_is_never_delivered(sessions, receiver):
    add(sessions, receiver.url)
    with pytest.raises(RuntimeError):
        with transaction(sessions) as session:
            hooks.enqueue_event(session, "thing.happened", {"pair": 1}, now())
            raise RuntimeError("the change failed")
    deliver(sessions)
    assert receiver.requests == []


def test_a_redirect_is_not_followed_and_counts_as_a_failure(sessions, receiver):
    add(sessions, receiver.url)
    receiver.statuses, receiver.location = [302], receiver.url + "/elsewhere"
    emit(sessions)
    assert deliver(sessions).failed == 1
    assert len(receiver.requests) == 1


def test_a_delivery_given_up_keeps_no_body(sessions, receiver):
    add(sessions, receiver.url)
    receiver.statuses = [500] * hooks.MAX_ATTEMPTS
    emit(sessions, {"mentor": "maya"})
    at = now()
    for _ in range(hooks.MAX_ATTEMPTS):
        deliver(sessions, at)
        at += timedelta(hours=2)
    with sessions() as session:
        row = session.execute(select(WebHookDelivery)).scalar_one()
    assert row.state == QueueState.DEAD and row.body is None


def test_a_sent_delivery_keeps_no_body(sessions, receiver):
    add(sessions, receiver.url)
    emit(sessions, {"mentor": "maya"})
    deliver(sessions)
    with sessions() as session:
        row = session.execute(select(WebHookDelivery)).scalar_one()
    assert row.state == QueueState.SENT and row.body is None and row.status_code == 204


def test_the_secret_is_stored_encrypted(sessions):
    hook_id, secret = add(sessions, "https://hooks.example.com/in")
    with sessions() as session:
        raw = session.execute(text("SELECT secret FROM webhooks")).scalar_one()
        assert session.get_one(WebHook, hook_id).secret == secret
    assert secret.startswith("whsec_") and secret not in raw and raw.startswith("enc:v1:")


def test_a_hook_url_on_an_unlisted_private_address_is_refused(sessions):
    with pytest.raises(Refused):
        add(sessions, "https://10.0.0.1/hook")


def test_a_plain_http_hook_url_on_an_unlisted_host_is_refused(sessions):
    with pytest.raises(Refused):
        add(sessions, "http://hooks.example.com/in")


def test_forgetting_a_username_drops_only_undelivered_deliveries_naming_it(sessions, receiver):
    add(sessions, receiver.url)
    emit(sessions, {"mentor": "maya", "mentee": "sam"})
    emit(sessions, {"mentor": "ravi", "mentee": "sam"})
    with transaction(sessions) as session:
        assert hooks.forget_naming(session, {"maya"}, ("mentor", "mentee")) == 1
    deliver(sessions)
    assert [json.loads(r.body)["data"]["mentor"] for r in receiver.requests] == ["ravi"]


def test_an_unreachable_hook_is_retried_and_its_error_does_not_quote_the_url(sessions):
    add(sessions, "http://127.0.0.1:1/in?token=t0ken")  # nothing listens on port 1
    emit(sessions)
    assert deliver(sessions).failed == 1
    with sessions() as session:
        row = session.execute(select(WebHookDelivery)).scalar_one()
    assert row.state == QueueState.PENDING and row.last_error.startswith("no answer")
    assert "t0ken" not in row.last_error


def test_delivery_connects_only_where_the_url_rule_allows_now(sessions, receiver):
    add(sessions, receiver.url)  # listed when added, no longer listed when delivered
    emit(sessions)
    result = hooks.deliver_due(
        sessions, owner="w", now=now(), lease=LEASE, allowed_hosts=frozenset()
    )
    assert result.failed == 1 and receiver.requests == []


def test_the_hooks_are_read_once_a_transaction_however_many_events(sessions):
    add(sessions, "http://127.0.0.1:9/hook")
    reads: list[str] = []

    def keep(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM webhooks" in statement:
            reads.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", keep)
    try:
        with transaction(sessions) as session:
            for pair in range(20):
                hooks.enqueue_event(session, "thing.happened", {"pair": pair}, now())
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(reads) == 1


def test_a_hook_added_in_the_transaction_hears_its_next_event(sessions):
    with transaction(sessions) as session:
        assert hooks.enqueue_event(session, "thing.happened", {"pair": 1}, now()) == 0
        hooks.add_hook(session, "http://127.0.0.1:9/hook", ["thing.happened"], LOOPBACK)
        assert hooks.enqueue_event(session, "thing.happened", {"pair": 2}, now()) == 1


def test_a_hook_removed_in_the_transaction_hears_nothing_more(sessions):
    hook_id, _secret = add(sessions, "http://127.0.0.1:9/hook")
    with transaction(sessions) as session:
        assert hooks.enqueue_event(session, "thing.happened", {"pair": 1}, now()) == 1
        hooks.remove_hook(session, hook_id)
        assert hooks.enqueue_event(session, "thing.happened", {"pair": 2}, now()) == 0
