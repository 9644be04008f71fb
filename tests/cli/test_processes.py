"""Real processes: a worker killed mid-batch, two workers at once, `serve` on the real clock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from plugin.engine.outbox import enqueue, marker_for
from plugin.storage.db import transaction
from plugin.storage.models import Forum, ForumCall, Member, OutboxMessage, Signup
from tests.fakes.discourse import FakeDiscourse
from tests.helpers import daytime_zone, serve_checked
from tests.procs import env_for, free_port, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def roomy_fake():
    """A Discourse with room for bursts (a high rate limit) and only maya and sam, no groups."""
    fake = FakeDiscourse(
        api_key="test-key", bot_username="mentor_bot", rate_limit_per_minute=10_000
    )
    for name in ("maya", "sam"):
        fake.add_user(name)
    with serve_checked(fake):
        yield fake


@pytest.fixture
def roomy_forum(sessions, forum, roomy_fake):
    """The `forum` fixture on the roomy fake, with a request budget to match."""
    with transaction(sessions) as session:
        row = session.get(Forum, forum.id)
        row.url, row.request_budget = roomy_fake.url, 1000
    return forum


def worker(config, *args: str, **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "worker", *args],
        env=env_for(config, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def enqueue_threads(sessions, forum_id: int, n: int) -> list[str]:
    keys = [f"k:{i}" for i in range(n)]
    with transaction(sessions) as session:
        for key in keys:
            enqueue(
                session,
                forum_id=forum_id,
                key=key,
                kind="open_thread",
                payload={"title": f"Thread {key}", "text": "Hello", "usernames": ["maya"]},
            )
    return keys


def counts(roomy_fake, keys: list[str]) -> list[int]:
    return [sum(marker_for(k) in p.raw for p in list(roomy_fake.posts.values())) for k in keys]


def test_worker_killed_mid_batch_loses_nothing_and_posts_nothing_twice(
    config, sessions, roomy_forum, roomy_fake
):
    keys = enqueue_threads(sessions, roomy_forum.id, 40)
    roomy_fake.app.before_request(lambda: time.sleep(0.03))  # slow enough to be caught mid-batch
    proc = worker(config, MENTORSHIP_LEASE_SECONDS="2")
    assert wait_for(lambda: len(roomy_fake.posts) >= 8, 30), proc.stderr
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < sum(counts(roomy_fake, keys)) < 40
    time.sleep(2.5)  # the dead worker's leases run out
    finisher = worker(config, "--once", MENTORSHIP_LEASE_SECONDS="2")
    assert finisher.wait(60) == 0, finisher.stderr.read()
    assert counts(roomy_fake, keys) == [1] * 40
    with sessions() as session:
        states = session.execute(select(OutboxMessage.state)).scalars().all()
    assert states == ["sent"] * 40


def test_two_workers_at_once_post_each_row_once(config, sessions, roomy_forum, roomy_fake):
    keys = enqueue_threads(sessions, roomy_forum.id, 30)
    procs = [worker(config, "--once") for _ in range(2)]
    for proc in procs:
        assert proc.wait(60) == 0, proc.stderr.read()
    assert counts(roomy_fake, keys) == [1] * 30


@pytest.mark.postgres
def test_two_workers_hold_the_request_budget_together(config, sessions, roomy_forum, roomy_fake):
    if config.is_sqlite:
        pytest.skip("several workers on several machines is the PostgreSQL setup")
    with transaction(sessions) as session:
        session.get(Forum, roomy_forum.id).request_budget = 10
    keys = enqueue_threads(sessions, roomy_forum.id, 30)
    now = "2030-01-07T12:00:00+00:00"
    procs = [worker(config, "--once", "--now", now) for _ in range(2)]
    for proc in procs:
        assert proc.wait(60) == 0, proc.stderr.read()
    assert len(roomy_fake.requests) == 10
    assert sum(counts(roomy_fake, keys)) == 10
    with sessions() as session:
        assert len(session.execute(select(ForumCall)).all()) == 10
    later = [worker(config, "--once", "--now", "2030-01-07T12:01:01+00:00") for _ in range(2)]
    for proc in later:
        assert proc.wait(60) == 0
    assert sum(counts(roomy_fake, keys)) == 20


def test_serve_posts_steps_on_the_real_clock(
    config, sessions, roomy_forum, roomy_fake, monkeypatch, capsys
):
    from plugin.cli import run

    roomy_fake.add_group("community", id=40)
    # They are in the groups, or reconciliation would rightly withdraw them.
    roomy_fake.add_group("mentors", id=43, members=["sam"])
    roomy_fake.add_group("mentees", id=44, members=["maya"])
    for key, value in env_for(config).items():
        monkeypatch.setenv(key, value)
    # A 3-second cadence; the mentee lives where it is mid-afternoon, outside quiet hours.
    create = "program create --forum forum --group community --template career"
    create += f" --mentor-group mentors --mentee-group mentees --cadence-days {3 / 86400}"
    assert run(create.split()) == 0
    assert run(["program", "open", "1"]) == 0
    zone = daytime_zone(datetime.now(UTC))
    # `program open` signed them up from the groups; they fill in the form (as it leaves them).
    with transaction(sessions) as session:
        for name, tz in (("sam", "UTC"), ("maya", zone)):
            signup = session.execute(
                select(Signup).join(Member).where(Member.username == name)
            ).scalar_one()
            signup.state, signup.about, signup.topics = "ready", "hi", "python"
            signup.timezone, signup.age_confirmed, signup.capacity = tz, True, 1
    assert run(["pair", "--program", "1", "--mentor", "sam", "--mentee", "maya"]) == 0
    capsys.readouterr()
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env_for(config),
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ.get("SERVE_LOG", os.devnull), "w"),  # noqa: SIM115
        start_new_session=True,
    )
    try:

        def thread_posts() -> list[str]:
            pms = [
                p
                for p in roomy_fake.private_messages()
                if {"sam", "maya"} <= set(p["participants"])  # the pair's, not a sign-up link
            ]
            return pms[0]["posts"] if pms else []

        assert wait_for(lambda: any("Step 3 of 8" in p for p in thread_posts()), 30)
        steps = [m for p in thread_posts() for m in re.findall(r"^\*\*Step (\d) of 8", p, re.M)]
        assert steps[:3] == ["1", "2", "3"]
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(20)
