"""MENTORSHIP_LOG_FORMAT=json: one JSON object a line on stderr, ids bound, nothing secret."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import requests

from plugin.config import ConfigError, load_config
from plugin.engine import outbox
from plugin.engine.outbox import Kind, enqueue
from plugin.logs import JsonFormatter, bound, bound_ids, gunicorn_logconfig
from plugin.storage.db import transaction
from plugin.storage.models import utcnow
from tests.helpers import SECRET, discourse_request, pm_post
from tests.procs import env_for, serving

KEYS = {"time", "level", "message", "logger"}
PAIR_TEXT = "!report she told me about her divorce, zebra-quartz-77"


def json_lines(text: str) -> list[dict]:
    """Every line of `text` as JSON (a line that does not parse fails the test, shown)."""
    docs = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(doc, dict) and KEYS <= doc.keys(), line
        docs.append(doc)
    return docs


def formatted(record_logger: str, message: str) -> dict:
    """What the JSON formatter makes of one INFO record."""
    record = logging.LogRecord(record_logger, logging.INFO, __file__, 1, message, None, None)
    return json.loads(JsonFormatter().format(record))


def test_json_line_has_time_level_message_and_logger():
    doc = formatted("plugin.worker", "worker w1 started")
    assert doc["level"] == "INFO"
    assert doc["message"] == "worker w1 started"
    assert doc["logger"] == "plugin.worker"
    assert datetime.fromisoformat(doc["time"].replace("Z", "+00:00")).utcoffset().seconds == 0


def test_bound_ids_appear_in_lines_inside_the_block_only():
    with bound(event_id=7, forum_id=2):
        inside = formatted("x", "inside")
    assert (inside["event_id"], inside["forum_id"]) == (7, 2)
    assert "event_id" not in formatted("x", "after")
    assert bound_ids() == {}


def test_a_bound_id_never_replaces_a_line_s_own_fields():
    with bound(message="spoofed", level="NONE"):
        doc = formatted("x", "real")
    assert (doc["message"], doc["level"]) == ("real", "INFO")


def test_log_format_defaults_to_text_and_refuses_other_values():
    env = {"MENTORSHIP_DATABASE_URL": "sqlite://", "MENTORSHIP_SECRET_KEY": "k"}
    assert load_config(env).log_format == "text"
    assert load_config({**env, "MENTORSHIP_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="MENTORSHIP_LOG_FORMAT"):
        load_config({**env, "MENTORSHIP_LOG_FORMAT": "xml"})


def test_gunicorn_lines_go_through_the_json_formatter_only_in_json_mode():
    assert gunicorn_logconfig("text") is None
    config = gunicorn_logconfig("json")
    assert config["formatters"]["json"]["()"] == "plugin.logs.JsonFormatter"
    assert config["loggers"]["gunicorn.error"]["propagate"] is True


def test_a_failed_delivery_is_logged_with_its_delivery_and_forum(sessions, forum):
    with transaction(sessions) as session:
        enqueue(session, forum_id=forum.id, key="k", kind="boom", payload={"text": PAIR_TEXT})

    def explode(ctx, payload, marker):
        raise ValueError("the kind has a bug")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("plugin.engine.outbox")
    logger.addHandler(handler)
    try:
        outbox.deliver_due(
            sessions,
            lambda forum_id: None,
            owner="w",
            now=utcnow(),
            lease=timedelta(seconds=30),
            kinds={"boom": Kind(send=explode, find=lambda *a: None)},
        )
    finally:
        logger.removeHandler(handler)
    (doc,) = json_lines(stream.getvalue())
    assert doc["forum_id"] == forum.id and "delivery_id" in doc
    assert "zebra-quartz" not in stream.getvalue()


def test_serve_and_worker_log_only_json_lines_without_secrets_or_pair_text(
    config, sessions, forum, tmp_path
):
    log = tmp_path / "serve.log"
    with serving(config, "--workers", "2", log=log, MENTORSHIP_LOG_FORMAT="json") as base:
        url = f"{base}/webhooks/discourse/forum"
        raw, headers = discourse_request("post__post_created", body=pm_post(77, raw=PAIR_TEXT))
        assert requests.post(url, data=raw, headers=headers).status_code == 200
        bad, bad_headers = discourse_request("post__post_created", secret="wrong")
        assert requests.post(url, data=bad, headers=bad_headers).status_code == 401
        requests.get(f"{base}/healthz")
    served = log.read_text()
    docs = json_lines(served)
    loggers = {d["logger"] for d in docs}
    assert "gunicorn.error" in loggers  # gunicorn's own lines, as JSON too
    assert any("rejected 401" in d["message"] for d in docs)
    once = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "worker", "--once"],
        env=env_for(config, MENTORSHIP_LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr
    json_lines(once.stderr)
    for text in (served, once.stderr):
        for secret in (SECRET, config.secret_key, "zebra-quartz", "divorce"):
            assert secret not in text


def test_a_cli_error_in_json_mode_is_one_json_line(config):
    failed = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "program", "open", "999"],
        env=env_for(config, MENTORSHIP_LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode != 0
    (doc,) = json_lines(failed.stderr)
    assert doc["level"] == "ERROR" and doc["message"].startswith("mentorship: error:")


def test_alembic_start_up_chatter_is_dropped_but_its_upgrades_are_logged(caplog):
    from plugin.logs import setup_logging

    setup_logging("text", logging.INFO)
    log = logging.getLogger("alembic.runtime.migration")
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        log.info("Context impl SQLiteImpl.")
        log.info("Will assume non-transactional DDL.")
        log.info("Running upgrade 0012 -> 0013, delivery retention")
    assert [r.getMessage() for r in caplog.records] == [
        "Running upgrade 0012 -> 0013, delivery retention"
    ]
