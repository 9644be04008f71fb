"""The program story as outgoing webhooks tell it: which events, with what data, never text."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from plugin.domain.pairs import quiet_until
from plugin.storage.models import Pair
from plugin.storage.webhooks import WebHookDelivery
from tests.domain.flow_support import deliver, ready_pair, thread_of
from tests.engine.hooks_support import Receiver, receiving
from tests.helpers import pm_post, work

_post_ids = iter(range(40_000, 50_000))


@pytest.fixture
def hook(cli, story):
    """A receiver registered for every event type before anything happens; (receiver, secret)."""
    with receiving() as receiver:
        added = cli("hook", "add", "--url", receiver.url)
        yield receiver, added["secret"]


@pytest.fixture
def receiver(hook) -> Receiver:
    return hook[0]


@pytest.fixture
def paired(config, sessions, client, fake, cli, story, receiver):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


def events(receiver: Receiver) -> list[tuple[str, dict]]:
    return [
        (doc["type"], doc["data"]) for doc in map(json.loads, (r.body for r in receiver.requests))
    ]


def of_type(receiver: Receiver, event_type: str) -> list[dict]:
    return [data for kind, data in events(receiver) if kind == event_type]


def say(client, fake, username: str, text: str) -> None:
    topic = thread_of(fake, "sam", "maya")["topic_id"]
    user = fake.user(username)
    body = pm_post(next(_post_ids), topic_id=topic, user_id=user.id, username=username, raw=text)
    deliver(client, "post__post_created", body)


def test_sign_ups_and_pairing_are_told_in_order(paired, receiver, story):
    pid = story["id"]
    assert events(receiver) == [
        ("signup.ready", {"program": pid, "member": "sam", "role": "mentor"}),
        ("signup.ready", {"program": pid, "member": "maya", "role": "mentee"}),
        (
            "pair.created",
            {"program": pid, "pair": paired.id, "mentor": "sam", "mentee": "maya", "step": 1},
        ),
    ]


def test_every_delivery_of_the_story_verifies(paired, hook):
    receiver, secret = hook
    for got in receiver.requests:
        Webhook(secret).verify(got.body, got.headers)
    assert len(receiver.requests) == 3


def test_sign_up_events_carry_no_profile_answers(paired, receiver):
    assert all(b"Switching careers" not in r.body for r in receiver.requests)


def test_pause_and_resume_are_told(config, sessions, client, fake, paired, receiver):
    say(client, fake, "sam", "!pause 1")
    work(config, sessions)
    say(client, fake, "maya", "!resume")
    work(config, sessions)
    assert [kind for kind, _ in events(receiver)][-2:] == ["pair.paused", "pair.resumed"]
    assert of_type(receiver, "pair.paused")[0]["pair"] == paired.id


def test_ending_is_told_with_its_reason(config, sessions, client, fake, paired, receiver):
    say(client, fake, "maya", "!end")
    work(config, sessions)
    [ended] = of_type(receiver, "pair.ended")
    assert ended["reason"] == "ended" and ended["mentee"] == "maya"


def test_a_report_is_told_without_its_text_or_reporter(
    config, sessions, client, fake, paired, receiver
):
    say(client, fake, "maya", "!report he keeps cancelling on me")
    work(config, sessions)
    [report] = of_type(receiver, "report.created")
    assert set(report) == {"program", "pair", "report", "kind"} and report["kind"] == "report"
    assert all(b"cancelling" not in r.body for r in receiver.requests)


def test_a_later_step_is_told_with_its_number(config, sessions, client, fake, paired, receiver):
    at = paired.paired_at + timedelta(days=1, hours=1)
    with sessions() as session:
        pair = session.get_one(Pair, paired.id)
        quiet = quiet_until(
            at, pair.mentee.timezone, pair.program.quiet_start, pair.program.quiet_end
        )
    work(config, sessions, at if quiet is None else quiet + timedelta(minutes=1))
    assert [d["step"] for d in of_type(receiver, "pair.step_posted")] == [2]


def test_completion_is_told(config, sessions, client, fake, paired, receiver):
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    assert [d["pair"] for d in of_type(receiver, "pair.completed")] == [paired.id]


def _destroy(client, fake, username: str) -> None:
    user = fake.user(username)
    body = {"user": {"id": user.id, "username": username, "email": f"{username}@x.org"}}
    deliver(client, "user__user_destroyed", body)


def test_erasure_drops_undelivered_events_naming_the_member(
    config, sessions, client, fake, paired, receiver
):
    receiver.statuses = [503] * 50  # nothing gets through: every event waits
    say(client, fake, "sam", "!pause 1")
    work(config, sessions)
    _destroy(client, fake, "maya")
    work(config, sessions)
    with sessions() as session:
        waiting = session.execute(select(WebHookDelivery.event_type, WebHookDelivery.body)).all()
    naming = [kind for kind, body in waiting if body and "maya" in body]
    assert naming == ["member.erased"]


def test_erasure_is_told_once_delivered_and_then_forgotten(
    config, sessions, client, fake, paired, receiver
):
    _destroy(client, fake, "maya")
    work(config, sessions)
    assert of_type(receiver, "member.erased") == [{"member": "maya"}]
    with sessions() as session:
        bodies = session.execute(select(WebHookDelivery.body)).scalars().all()
    assert all(body is None for body in bodies)
