"""Logging for every process (serve, gunicorn's workers, the worker, the CLI): text or JSON.

MENTORSHIP_LOG_FORMAT=json (docs/operator-interface.md) makes every line on stderr one JSON
object with `time`, `level`, `message` and `logger`, plus the ids bound where there is one
(`bound`): the inbox event, the outbox delivery, the forum. Ids only: what a sender or a pair
wrote never goes into a bound field, and callers never log bodies, secrets or tokens.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields a record carries that are not its own message; bound ids must not replace them.
RESERVED = frozenset({"time", "level", "message", "logger", "process", "exception"})

# A context variable, not a thread-local: the ids follow the work inside one thread and
# are put back as they were when the `with` block ends, even if it raises.
# Never mutated: each `bound` sets a new dict.
_BOUND: ContextVar[dict[str, Any] | None] = ContextVar("mentorship_log_ids", default=None)


@contextmanager
def bound(**ids: int | str | None) -> Iterator[None]:
    """Add these ids (event_id, delivery_id, forum_id...) to every JSON line inside the block."""
    kept = {name: value for name, value in ids.items() if name not in RESERVED}
    token = _BOUND.set({**(_BOUND.get() or {}), **kept})
    try:
        yield
    finally:
        _BOUND.reset(token)


def bound_ids() -> dict[str, Any]:
    """The ids bound right now (a copy)."""
    return dict(_BOUND.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO-8601 UTC), level, message, logger, bound ids."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (a traceback is one escaped string, not lines)."""
        when = datetime.fromtimestamp(record.created, UTC)
        doc: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "process": record.process,
        }
        doc.update(_BOUND.get() or {})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            doc["exception"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for `text` or `json`."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


class _Handler(logging.StreamHandler):
    """The stderr handler `setup_logging` installs (so that it can tell it from others')."""


class _AlembicChatter(logging.Filter):
    """Drops alembic's start-up chatter about the dialect, which says nothing new."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for "Context impl ..." and "Will assume ... DDL" lines."""
        message = str(record.msg)
        return not message.startswith(("Context impl", "Will assume"))


def setup_logging(log_format: str, level: int = logging.WARNING) -> bool:
    """Send every logger's records to stderr in this format; False if the host has its own.

    A program that configured logging before (one embedding the CLI, the test runner)
    keeps its handlers and levels: only a handler of ours is ever replaced.
    """
    # Alembic says which database dialect it uses, twice a start, whoever handles the
    # records: chatter, not news ("Running upgrade ..." stays).
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicChatter) for f in migration.filters):
        migration.addFilter(_AlembicChatter())
    root = logging.getLogger()
    if any(not isinstance(h, _Handler) for h in root.handlers):
        return False
    for old in root.handlers[:]:
        root.removeHandler(old)
    handler = _Handler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic lists each of its plugins at INFO on every start: noise, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    # Python's warnings go through logging too, so a JSON stderr stays JSON.
    logging.captureWarnings(log_format == "json")
    return True


def json_logging() -> bool:
    """Whether this process's log lines are JSON (set up by us or by gunicorn for us)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def announce(text: str, log_format: str) -> None:
    """Lines for the operator on stderr: printed as they are, or logged one by one in JSON."""
    if log_format != "json":
        print(text, file=sys.stderr, flush=True)
        return
    log = logging.getLogger("mentorship")
    for line in text.splitlines():
        log.info(line)


def say(level: str, message: str) -> None:
    """One line for the operator on stderr ("mentorship: notice: ..."), or one JSON log line."""
    line = f"mentorship: {level}: " + " ".join(message.split())
    if json_logging():  # MENTORSHIP_LOG_FORMAT=json: still one line, as a JSON object
        severity = logging.ERROR if level == "error" else logging.WARNING
        logging.getLogger("mentorship").log(severity, line)
    else:
        print(line, file=sys.stderr)


def gunicorn_logconfig(log_format: str) -> dict[str, Any] | None:
    """gunicorn's `logconfig_dict`: its own lines through our JSON formatter; None for text."""
    if log_format != "json":
        return None  # gunicorn's own text lines, as before
    # gunicorn merges this into its defaults key by key, so each key is given whole.
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"json": {"()": "plugin.logs.JsonFormatter"}},
    }
