"""The worker delivers outgoing webhooks: every pass, --once included, and after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from plugin.engine import hooks
from plugin.engine.clock import Clock
from plugin.storage.db import transaction
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHookDelivery
from plugin.worker import Worker
from tests.engine.hooks_support import receiving
from tests.helpers import LOOPBACK


@pytest.fixture
def receiver():
    with receiving() as r:
        yield r


def _hook_and_event(sessions, url: str) -> str:
    with transaction(sessions) as session:
        secret = hooks.add_hook(session, url, ["thing.happened"], LOOPBACK).secret
        hooks.enqueue_event(session, "thing.happened", {"pair": 1}, datetime.now(UTC))
    return secret


def test_worker_once_delivers_due_webhooks(config, sessions, receiver):
    secret = _hook_and_event(sessions, receiver.url)
    Worker(config, sessions, Clock(datetime.now(UTC))).run_once()
    got = receiver.requests[0]
    assert Webhook(secret).verify(got.body, got.headers)["data"] == {"pair": 1}


def test_worker_once_from_the_cli_delivers_due_webhooks(cli, sessions, receiver):
    _hook_and_event(sessions, receiver.url)
    cli("worker", "--once")
    assert len(receiver.requests) == 1


def test_worker_once_says_how_many_webhook_deliveries_it_tried(config, sessions, receiver):
    _hook_and_event(sessions, receiver.url)
    tally = Worker(config, sessions, Clock(datetime.now(UTC))).run_once()
    assert tally.describe() == "processed 0 events, made 0 forum calls, tried 1 webhook delivery"


def test_worker_once_json_keeps_the_contracts_keys_when_it_delivered_webhooks(
    cli, sessions, receiver
):
    _hook_and_event(sessions, receiver.url)
    assert cli("worker", "--once") == {"status": "ok", "events": 0, "calls": 0, "held": 0}


def test_a_delivery_left_sending_by_a_dead_worker_is_sent_again_under_its_id(
    config, sessions, receiver
):
    _hook_and_event(sessions, receiver.url)
    with transaction(sessions) as session:  # as a worker that died mid-POST leaves it
        session.execute(
            update(WebHookDelivery).values(
                state=QueueState.SENDING,
                attempts=1,
                lease_owner="dead-worker",
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
        message_id = session.execute(select(WebHookDelivery.message_id)).scalar_one()
    Worker(config, sessions, Clock(datetime.now(UTC))).run_once()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message_id]
