"""`GET /metrics`: Prometheus text exposition, and the counting of webhook requests.

Counters come from every process's files (plugin/metrics.py, multiprocess mode). Gauges
that are facts of the database (outbox and inbox pending, pairs by state) are computed
from the database at scrape time instead of being kept by some process: then they are
right whichever process is scraped, however many workers run, on however many machines.

No authentication, as Prometheus usually scrapes: no label carries personal data (forum
kinds and the operator's forum names, fixed outcome and status sets, pair states), and an
operator who does not want it public keeps /metrics off the proxy (README, "Operations").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin import metrics
from plugin.forums import registry
from plugin.storage.db import log_database_error, reading
from plugin.storage.models import Forum, InboxEvent, OutboxMessage, Pair
from plugin.storage.states import PairState, QueueState

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
# Not yet done: waiting, or claimed by a worker right now.
UNFINISHED = (QueueState.PENDING, QueueState.SENDING)
# A webhook answer's status, when the inbox was not reached, as a counted outcome.
OUTCOME_OF_STATUS = {
    401: "rejected_signature",
    400: "bad_request",
    404: "unknown_forum",
    413: "too_large",
    503: "unavailable",
}


class _Counters(Collector):
    """The counters: summed over every process's files, or this process's own."""

    def __init__(self, forum_names: dict[str, str]) -> None:
        self.forum_names = forum_names

    def collect(self) -> Iterator[Metric]:
        """Each counter family, forum ids replaced by forum names."""
        if metrics.multiprocess_dir():
            try:
                families = MultiProcessCollector(None).collect()
            except ValueError as exc:  # the directory is missing: the gauges still answer
                log.error("metrics: counters unavailable: %s", exc)
                return
        else:
            families = (f for c in metrics.counters() for f in c.collect())
        for family in families:
            if family.name == metrics.FORUM_CALLS:
                for sample in family.samples:
                    if "forum" in sample.labels:
                        forum = sample.labels["forum"]
                        sample.labels["forum"] = self.forum_names.get(forum, f"#{forum}")
            yield family


class _Database(Collector):
    """Gauges read from the database when scraped: pending work and pairs by state."""

    def __init__(self, counts: dict[str, int], pairs: dict[str, int]) -> None:
        self.counts = counts
        self.pairs = pairs

    def collect(self) -> Iterator[Metric]:
        """The gauges, from counts read once per scrape."""
        yield GaugeMetricFamily(
            "mentorship_outbox_pending", "Forum calls not yet sent", value=self.counts["outbox"]
        )
        yield GaugeMetricFamily(
            "mentorship_inbox_pending", "Events not yet processed", value=self.counts["inbox"]
        )
        pairs = GaugeMetricFamily("mentorship_pairs", "Pairs by state", labels=["state"])
        for state in PairState:
            pairs.add_metric([state.value], self.pairs.get(state.value, 0))
        yield pairs


def _read(sessions: sessionmaker[Session]) -> tuple[dict[str, str], _Database]:
    """Forum names by id and the database's gauges, in one read."""
    with reading(sessions) as session:
        names = {str(i): n for i, n in session.execute(select(Forum.id, Forum.name))}
        counts = {
            name: session.scalar(
                select(func.count()).select_from(model).where(model.state.in_(UNFINISHED))
            )
            or 0
            for name, model in (("outbox", OutboxMessage), ("inbox", InboxEvent))
        }
        pairs = {
            str(state): n
            for state, n in session.execute(select(Pair.state, func.count()).group_by(Pair.state))
        }
    return names, _Database(counts, pairs)


@bp.get("/metrics")
def exposition() -> Response:
    """Prometheus text exposition of the counters and the database's gauges."""
    scrape = CollectorRegistry()
    names: dict[str, str] = {}
    try:
        names, gauges = _read(current_app.extensions["mentorship"].sessions)
        scrape.register(gauges)
    except Exception as exc:  # noqa: BLE001 - the counters still answer without the database
        log_database_error(log, "metrics: database gauges unavailable", exc)
    scrape.register(_Counters(names))
    return Response(generate_latest(scrape), mimetype=CONTENT_TYPE_LATEST)


def _webhook_kind() -> str | None:
    """The forum kind of a webhook request's path, or None for any other request."""
    parts = request.path.split("/")
    if len(parts) >= 3 and parts[1] == "webhooks" and parts[2] in registry.NAMES:
        return parts[2]
    return None


def _count_webhook(response: Response) -> Response:
    """Count a webhook request by its kind and what it came to."""
    kind = _webhook_kind()
    stored = metrics.take_stored()  # always taken: nothing carries over to the next request
    if kind is None:
        return response
    if 200 <= response.status_code < 300:
        outcome = stored or "ignored"  # acknowledged without reaching the inbox: dropped
    else:
        outcome = OUTCOME_OF_STATUS.get(response.status_code, "other")
    metrics.webhook_received(kind, outcome)
    return response


def _forget_stored() -> None:
    # A fresh request starts with nothing noted (returns None: the request goes on).
    metrics.take_stored()


def init_app(app: Flask) -> None:
    """Register /metrics and the counting of webhook requests."""
    app.register_blueprint(bp)
    app.before_request(_forget_stored)
    app.after_request(_count_webhook)
