"""The database under stress: many webhooks at once on PostgreSQL, a server that restarts
under `serve` and `worker`, and receivers that answer 503 to any database error."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from plugin.config import Config
from plugin.engine.inbox import StoredEvent, store
from plugin.engine.leases import claim
from plugin.forums.connections import add_forum
from plugin.storage import secretbox
from plugin.storage.db import ensure_schema, get_engine, session_factory, transaction
from plugin.storage.models import InboxEvent, utcnow
from tests.helpers import LOOPBACK, add_test_forum, discourse_request, pm_post
from tests.pgcluster import Cluster, Unavailable
from tests.procs import healthy, mentorship, serving, wait_for
from tests.test_zulip_receiver import BOT, TOKEN, group_dm
from tests.test_zulip_receiver import send as send_zulip

_local = threading.local()


def post_webhook(base: str, post_id: int) -> tuple[int, str]:
    """Send one signed Discourse `post_created` for `post_id`; (status, body)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    raw, headers = discourse_request("post__post_created", body=pm_post(post_id))
    try:
        answer = session.post(f"{base}/webhooks/discourse/forum", data=raw, headers=headers)
    except requests.ConnectionError as exc:  # a dropped connection is an answer too: a bad one
        return 0, f"connection error: {exc}"
    return answer.status_code, answer.text


def stored_post_ids(sessions) -> Counter:
    """How many inbox rows each post id has."""
    with sessions() as session:
        keys = session.execute(
            select(InboxEvent.content_key).where(InboxEvent.event == "post_created")
        ).scalars()
        # A post's content key is `post_created:<post id>:<its created_at>`.
        return Counter(int(k.split(":")[1]) for k in keys)


@pytest.mark.slow
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_concurrent_webhooks_on_postgres_all_stored_once(config, sessions, forum, tmp_path):
    log = tmp_path / "serve.log"
    ids = range(1, 401)
    with serving(config, "--no-worker", "--workers", "4", log=log) as base:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda i: post_webhook(base, i), ids))
    statuses = Counter(status for status, _ in answers)
    bad = [(i, a) for i, a in zip(ids, answers, strict=True) if not 200 <= a[0] < 300]
    assert statuses == {200: 400}, (bad[:3], log.read_text()[-3000:])
    assert stored_post_ids(sessions) == Counter({i: 1 for i in ids})
    # Processes sharing one connection can also read each other's answers without failing.
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


# -- database errors in the receivers and the worker's loop -----------------------------------


def _lost(statement: str) -> Exception:
    return sa_exc.OperationalError(statement, {}, Exception("server closed the connection"))


DATABASE_ERRORS = {
    "operational": _lost("INSERT"),
    "interface": sa_exc.InterfaceError("INSERT", {}, Exception("the connection is closed")),
    "internal": sa_exc.InternalError("INSERT", {}, Exception("cache lookup failed")),
    "pending rollback": sa_exc.PendingRollbackError("rolled back after an error"),
    "sqlite driver": sqlite3.DatabaseError("disk I/O error"),
}


def _broken(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.parametrize("step", ["lookup", "store"])
@pytest.mark.parametrize("error", DATABASE_ERRORS.values(), ids=DATABASE_ERRORS.keys())
def test_receivers_answer_503_on_any_database_error(client, sessions, monkeypatch, step, error):
    from webhooks.discourse import receiver as discourse
    from webhooks.zulip import receiver as zulip

    add_test_forum(sessions)
    with transaction(sessions) as session:
        add_forum(
            session,
            kind="zulip",
            name="zulip",
            url="http://127.0.0.1:9",
            allowed_hosts=LOOPBACK,
            api_key="test-key",
            bot_user=BOT,
            webhook_secret=TOKEN,
        )
    if step == "lookup":
        monkeypatch.setattr(discourse, "_forum", _broken(error))
        monkeypatch.setattr(zulip, "reading", _broken(error))
    else:
        monkeypatch.setattr(discourse, "store_now", _broken(error))
        monkeypatch.setattr(zulip, "store", _broken(error))
    raw, headers = discourse_request("post__post_created", body=pm_post(7))
    answer = client.post("/webhooks/discourse/forum", data=raw, headers=headers)
    assert (answer.status_code, sorted(answer.get_json())) == (503, ["error"])
    answer = send_zulip(client, group_dm())
    assert answer.status_code == 503 and answer.get_json()["response_not_required"] is True


def test_worker_loop_survives_database_errors_logging_one_line_each(
    config, sessions, monkeypatch, caplog
):
    from plugin import worker as module
    from plugin.engine.clock import Clock

    worker = module.Worker(config, sessions, Clock())
    forum = add_test_forum(sessions)
    with transaction(sessions) as session:  # a claim the failed pass leaves behind
        store(session, forum.id, "d1", StoredEvent("post_created", "post_created:1", {}))
        [row] = claim(
            session, InboxEvent, owner=worker.owner, now=utcnow(), lease=timedelta(hours=1), limit=9
        )
    outcomes = [_lost("SELECT"), _lost("SELECT"), 3, 0]

    def run_pass() -> int:
        outcome = outcomes.pop(0)
        if not outcomes:
            worker.stopping.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(worker, "run_pass", run_pass)
    monkeypatch.setattr(module.signal, "signal", lambda *args: None)  # keep pytest's handlers
    monkeypatch.setattr(module, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(module, "LISTENERS", [])
    with caplog.at_level("INFO", logger="plugin.worker"):
        worker.run_forever()
    assert outcomes == []  # it went on after both failures, until told to stop
    with sessions() as session:  # and gave back what it had claimed, long before the lease ends
        assert session.get(InboxEvent, row.id).lease_owner is None
    failed = [r for r in caplog.records if "pass failed" in r.getMessage()]
    assert [r.levelname for r in failed] == ["WARNING", "WARNING"]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in failed)
    assert [module.retry_delay(n) for n in (1, 2, 3, 4)] == [0.01, 0.02, 0.04, 0.08]
    assert module.retry_delay(100) == module.MAX_RETRY_SECONDS


# -- PostgreSQL restarting under `serve` and `worker` ---------------------------------------

OUTAGE_SECONDS = 3.0


def all_processed(sessions, expected: int) -> bool:
    """`expected` post events are in the inbox and the worker has done every one."""
    with sessions() as session:
        states = session.execute(
            select(InboxEvent.state).where(InboxEvent.event == "post_created")
        ).scalars()
        return Counter(states) == {"done": expected}


class Sender(threading.Thread):
    """Posts webhooks for new post ids, one after another, until stopped; keeps every answer."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base = base
        self.halt = threading.Event()
        self.answers: list[tuple[int, float, int, str]] = []  # (post id, sent at, status, body)

    def run(self) -> None:
        post_id = 1
        while not self.halt.is_set():
            sent = time.monotonic()
            status, body = post_webhook(self.base, post_id)
            self.answers.append((post_id, sent, status, body))
            post_id += 1
            self.halt.wait(0.02)

    def count(self) -> int:
        return len(self.answers)


def restart_under_load(cluster: Cluster, base: str) -> tuple[list, float, int]:
    """Webhooks keep coming while PostgreSQL stops and starts again.

    Returns the answers, when the server accepted connections again, and what /healthz
    answered during the outage.
    """
    sender = Sender(base)
    sender.start()
    try:
        assert wait_for(lambda: sender.count() >= 20, 30), sender.answers[-3:]
        cluster.stop("fast")  # ends every session, as a restart does
        down_at = time.monotonic()
        assert wait_for(lambda: sender.count() >= 40, 30)
        health_when_down = requests.get(f"{base}/healthz", timeout=10).status_code
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        cluster.start()
        back_at = time.monotonic()
        assert wait_for(lambda: sender.answers[-1][1] > back_at + 2, 30)
    finally:
        sender.halt.set()
        sender.join(30)
    return sender.answers, back_at, health_when_down


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster of this test's own, started; removed afterwards."""
    try:
        cluster = Cluster()
    except Unavailable as exc:
        pytest.skip(f"cannot make a throwaway PostgreSQL cluster: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.mark.slow
def test_postgres_restart_under_serve_and_worker_loses_nothing(own_postgres, tmp_path):
    config = Config(own_postgres.url, "test-secret-key", "http://127.0.0.1:8000")
    secretbox.configure(config)  # the test forum's secrets are sealed as they are stored
    engine = get_engine(config.database_url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    add_test_forum(sessions)
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    # The default lease (two minutes) stays: what the worker had claimed when the database
    # went away must be done within the wait below all the same.
    with (
        serving(config, "--no-worker", "--workers", "2", log=serve_log) as base,
        mentorship(config, "worker", log=worker_log) as worker,
    ):
        answers, back_at, health_when_down = restart_under_load(own_postgres, base)
        refused = [post_id for post_id, _, status, _ in answers if status == 503]
        retried = Counter(post_webhook(base, post_id)[0] for post_id in refused)  # as a forum
        sent = len(answers)
        processed = wait_for(lambda: all_processed(sessions, sent), 60)
        alive = worker.poll() is None
        health_after = healthy(base)
    engine.dispose()
    logs = f"serve: {serve_log.read_text()[-3000:]}\nworker: {worker_log.read_text()[-3000:]}"
    statuses = Counter(status for _, _, status, _ in answers)
    assert set(statuses) <= {200, 503} and statuses[503] > 0, (statuses, logs)
    for _, _, status, body in answers:
        if status == 503:  # a short JSON reason, never a traceback
            assert "error" in json.loads(body) and "Traceback" not in body
    late = [(i, status) for i, at, status, _ in answers if at > back_at + 1 and status != 200]
    assert late == [], ("answers after the restart", late[:5], logs)
    assert retried == Counter({200: len(refused)})
    assert (health_when_down, health_after) == (503, True)
    # Every event acknowledged, before or after the outage, is stored once and processed.
    assert stored_post_ids(sessions) == Counter({i: 1 for i in range(1, sent + 1)})
    assert processed and alive, logs
    # No crash loop: the two HTTP workers gunicorn booted are the ones that served it all.
    assert serve_log.read_text().count("Booting worker") == 2, logs
    # Both said what happened in one line each time, and carried on.
    for log in (serve_log, worker_log):
        text = log.read_text()
        assert "database unavailable" in text and "Traceback" not in text, text[-3000:]
