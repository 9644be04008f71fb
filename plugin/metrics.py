"""Prometheus counters, summed over every process of the service (multiprocess mode).

`serve` gives its gunicorn workers and its worker one private PROMETHEUS_MULTIPROC_DIR
(`prepare_multiprocess_dir`) before any of them starts; each process writes its counts to
its own files there, and `GET /metrics` (plugin/web/metrics.py) adds them up. Names follow
discourse-prometheus: `<app>_<what>_total` counters, lower-case labels. Labels come from
fixed sets or the operator's own forum names: never a member, a token or a text.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
from contextvars import ContextVar
from functools import cache
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WEBHOOKS = "mentorship_webhooks_received"
FORUM_CALLS = "mentorship_forum_calls"
# What a webhook request came to; anything else is counted as "other".
OUTCOMES = (
    "stored",
    "duplicate",
    "ignored",
    "rejected_signature",
    "bad_request",
    "unknown_forum",
    "too_large",
    "unavailable",
    "other",
)
# What a forum call came to: the HTTP status class, 429 on its own, or no answer at all.
STATUSES = ("2xx", "3xx", "4xx", "429", "5xx", "no_answer")

log = logging.getLogger(__name__)
# The store's outcome for the request being answered; read by the web layer's counting.
_STORED: ContextVar[str | None] = ContextVar("mentorship_stored", default=None)


@cache
def _counters() -> tuple[Any, Any]:
    # prometheus_client picks its storage (memory or files) from the environment when it
    # is first imported, so it is imported here, after `serve` has set the directory.
    from prometheus_client import Counter, values

    if multiprocess_dir():
        # Files are named by process: containers may share one directory (compose.yaml),
        # and each container numbers its processes from 1, so the host name is part of it.
        values.ValueClass = values.MultiProcessValue(lambda: process_name(os.getpid()))
    webhooks = Counter(WEBHOOKS, "Webhook requests received", ["kind", "outcome"])
    calls = Counter(FORUM_CALLS, "Calls the outbox made to forums", ["forum", "status"])
    return webhooks, calls


def counters() -> tuple[Any, Any]:
    """The webhook and forum-call counters of this process."""
    return _counters()


def webhook_received(kind: str, outcome: str) -> None:
    """Count one webhook request of a forum kind and what it came to."""
    _safely(0, kind, outcome if outcome in OUTCOMES else "other")


def note_stored(new: bool) -> bool:
    """Remember whether the inbox stored the request's event (or found a duplicate)."""
    _STORED.set("stored" if new else "duplicate")
    return new


def take_stored() -> str | None:
    """What `note_stored` remembered for this request ("stored", "duplicate") and forget it."""
    outcome = _STORED.get()
    _STORED.set(None)
    return outcome


def call_status(error: BaseException | None) -> str:
    """The status label of a forum call: its HTTP status class, or `no_answer`."""
    if error is None:
        return "2xx"
    status = getattr(error, "status", None)  # plugin.engine.adapter.ForumError's
    if not isinstance(status, int) or not 200 <= status < 600:
        return "no_answer"  # a timeout, a refused connection, a bug
    return "429" if status == 429 else f"{status // 100}xx"


def forum_call(forum_id: int, error: BaseException | None = None) -> None:
    """Count one forum call, labelled by forum id (the scrape shows the forum's name)."""
    # Ids here, names at scrape time: the engine never reads a forum row for a label, and a
    # renamed forum shows its current name.
    _safely(1, str(forum_id), call_status(error))


def _safely(which: int, *labels: str) -> None:
    # Counting must never break the work it counts (a full disk, a removed directory).
    try:
        _counters()[which].labels(*labels).inc()
    except Exception:  # noqa: BLE001
        log.warning("could not count %s", (WEBHOOKS, FORUM_CALLS)[which], exc_info=True)


def multiprocess_dir() -> str | None:
    """The directory processes write their counts to, if multiprocess mode is on."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir() -> str | None:
    """Set a fresh private PROMETHEUS_MULTIPROC_DIR unless the operator set one.

    Returns the directory it created (for `remove_multiprocess_dir`), None if the operator's
    is used. Call before gunicorn forks and before the worker starts.
    """
    if multiprocess_dir():
        return None
    path = tempfile.mkdtemp(prefix="mentorship-metrics-")  # mode 0700: this user's alone
    os.environ[MULTIPROC_ENV] = path
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported before the directory existed: storage picked again
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return path


def remove_multiprocess_dir(path: str | None) -> None:
    """Remove a directory `prepare_multiprocess_dir` created."""
    if path:
        shutil.rmtree(path, ignore_errors=True)


def process_name(pid: int) -> str:
    """How a process's files in the directory are named: host name and pid."""
    return f"{socket.gethostname()}-{pid}"


def process_exited(pid: int) -> None:
    """Drop a dead process's live gauge files (gunicorn's child_exit); its counts stay."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        # Its identifier in the file names, which prometheus_client calls the pid.
        multiprocess.mark_process_dead(process_name(pid))
