"""PostgreSQL under real processes: many webhooks at once, and a database that restarts."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from plugin.models import InboxEvent
from tests.helpers import discourse_request, pm_post
from tests.procs import serving

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

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
        return Counter(int(k.removeprefix("post_created:")) for k in keys)


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
