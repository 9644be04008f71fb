"""GET /metrics: counters summed over every process, database gauges, no personal data."""

from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor

import requests
from prometheus_client.parser import text_string_to_metric_families

from plugin import metrics
from plugin.engine.adapter import ForumRateLimited, ForumRejected, ForumUnavailable
from plugin.engine.outbox import enqueue
from plugin.forums import registry
from plugin.storage.db import transaction
from plugin.storage.states import PairState
from tests.helpers import discourse_request, pm_post
from tests.procs import serving, wait_for


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition, by name and sorted labels, parsed by prometheus_client."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value, 0 when it is absent."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def send(base: str, post_id: int, *, secret: str | None = None) -> int:
    """Post one signed Discourse webhook; its status."""
    kwargs = {"secret": secret} if secret else {}
    raw, headers = discourse_request("post__post_created", body=pm_post(post_id), **kwargs)
    headers["Connection"] = "close"  # a new connection each time: spread over the workers
    return requests.post(f"{base}/webhooks/discourse/forum", data=raw, headers=headers).status_code


def test_call_status_is_the_status_class_or_no_answer():
    assert metrics.call_status(None) == "2xx"
    assert metrics.call_status(ForumRejected("no", status=422)) == "4xx"
    assert metrics.call_status(ForumRateLimited("slow", retry_after=1, status=429)) == "429"
    assert metrics.call_status(ForumUnavailable("down", status=502)) == "5xx"
    assert metrics.call_status(ForumUnavailable("timed out")) == "no_answer"
    assert metrics.call_status(ValueError("bug")) == "no_answer"


def test_metrics_page_is_prometheus_text_with_every_family(client, forum):
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(answer.get_data(as_text=True))}
    assert {
        "mentorship_outbox_pending",
        "mentorship_inbox_pending",
        "mentorship_pairs",
    } <= names


def test_webhooks_are_counted_by_kind_and_outcome(client, forum):
    before = client.get("/metrics").get_data(as_text=True)
    raw, headers = discourse_request("post__post_created", body=pm_post(9101))
    assert client.post("/webhooks/discourse/forum", data=raw, headers=headers).status_code == 200
    assert client.post("/webhooks/discourse/forum", data=raw, headers=headers).status_code == 200
    bad, bad_headers = discourse_request("post__post_created", body=pm_post(9102), secret="no")
    assert (
        client.post("/webhooks/discourse/forum", data=bad, headers=bad_headers).status_code == 401
    )
    after = client.get("/metrics").get_data(as_text=True)
    name = "mentorship_webhooks_received_total"
    for outcome in ("stored", "duplicate", "rejected_signature"):
        grew = value(after, name, kind="discourse", outcome=outcome) - value(
            before, name, kind="discourse", outcome=outcome
        )
        assert grew == 1, outcome


def test_pending_work_is_read_from_the_database(client, forum, sessions):
    with transaction(sessions) as session:
        for key in ("a", "b"):
            enqueue(session, forum_id=forum.id, key=key, kind="post", payload={})
    raw, headers = discourse_request("post__post_created", body=pm_post(9201))
    client.post("/webhooks/discourse/forum", data=raw, headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "mentorship_outbox_pending") == 2
    assert value(text, "mentorship_inbox_pending") == 1
    assert value(text, "mentorship_pairs", state="active") == 0


def test_forum_calls_are_labelled_with_the_forum_name(client, forum):
    metrics.forum_call(forum.id, ForumRejected("no", status=403))
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "mentorship_forum_calls_total", forum="forum", status="4xx") >= 1
    assert not any(
        ("mentorship_forum_calls_total", ("forum", str(forum.id))) in k[1] for k in samples(text)
    )


def test_serve_sums_webhooks_over_its_workers_and_the_worker_calls(
    config, sessions, live_forum, fake, tmp_path
):
    with transaction(sessions) as session:
        enqueue(
            session,
            forum_id=live_forum.id,
            key="metrics:1",
            kind="open_thread",
            payload={"title": "A thread", "text": "Hello", "usernames": ["maya"]},
        )
    log, shared = tmp_path / "serve.log", tmp_path / "prometheus"
    shared.mkdir()  # the operator's own directory, kept as it is
    with serving(config, "--workers", "2", log=log, PROMETHEUS_MULTIPROC_DIR=str(shared)) as base:
        statuses: list[int] = []
        with ThreadPoolExecutor(4) as pool:
            # Batches at once until both HTTP workers have taken some, however the kernel
            # hands out connections: each counting process has its own file, and the third
            # is the worker's, once it made its forum call.
            while len(statuses) < 400 and len(list(shared.glob("counter_*.db"))) < 3:
                ids = range(9300 + len(statuses), 9300 + len(statuses) + 8)
                statuses += pool.map(lambda i: send(base, i), ids)
        sent = len(statuses)
        assert statuses == [200] * sent, log.read_text()[-2000:]
        assert send(base, 99999, secret="wrong") == 401

        def scraped() -> str:
            return requests.get(f"{base}/metrics", timeout=5).text

        def calls(text: str) -> float:
            return value(text, "mentorship_forum_calls_total", forum="forum", status="2xx")

        assert wait_for(lambda: calls(scraped()) == 1, 30), log.read_text()[-2000:]
        # Every scrape, whichever gunicorn worker answers it, sees every process's counts.
        for _ in range(4):
            text = requests.get(f"{base}/metrics", headers={"Connection": "close"}).text
            stored = value(
                text, "mentorship_webhooks_received_total", kind="discourse", outcome="stored"
            )
            assert stored == sent
            assert (
                value(
                    text,
                    "mentorship_webhooks_received_total",
                    kind="discourse",
                    outcome="rejected_signature",
                )
                == 1
            )
            assert calls(text) == 1
    # One file per counting process: both HTTP workers and the worker wrote their own.
    files = list(shared.glob("counter_*.db"))
    assert len(files) == 3, sorted(shared.iterdir())
    # Named by host and pid: containers sharing the directory number their pids from 1.
    assert all(f.name.startswith(f"counter_{socket.gethostname()}-") for f in files)


def test_a_missing_metrics_directory_still_answers_with_the_gauges(
    client, forum, monkeypatch, tmp_path
):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path / "gone"))
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert "mentorship_outbox_pending" in answer.get_data(as_text=True)


def test_no_label_carries_a_member_s_name_or_text(client, forum):
    body = pm_post(9501, username="maya.private", raw="!pause because of my surgery")
    raw, headers = discourse_request("post__post_created", body=body)
    client.post("/webhooks/discourse/forum", data=raw, headers=headers)
    client.post("/webhooks/discourse/no-such-forum", data=raw, headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    # Forum kinds (other tests count webhooks of every kind in this process), forum names.
    allowed = {*registry.NAMES, "forum", *metrics.OUTCOMES, *metrics.STATUSES}
    allowed |= {state.value for state in PairState}
    values = {v for _, labels in samples(text) for _, v in labels}
    # "#<id>": a forum another test counted calls for, not in this test's database.
    unknown = {v for v in values - allowed if not re.fullmatch(r"#\d+", v)}
    assert unknown == set()
    assert "maya" not in text and "surgery" not in text
