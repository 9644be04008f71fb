"""The background worker: received events, due schedule items, outgoing forum calls."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain import tables
from plugin.engine import hooks, inbox, outbox
from plugin.engine.clock import Clock
from plugin.engine.leases import release_all, worker_name
from plugin.forums import registry
from plugin.forums.connections import adapter_factory
from plugin.storage import secretbox
from plugin.storage.db import DATABASE_ERRORS, log_database_error, transaction
from plugin.storage.models import InboxEvent, OutboxMessage
from plugin.storage.webhooks import WebHookDelivery

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
MAX_RETRY_SECONDS = 5.0

# What the worker runs, from the domain's tables and each forum kind's own jobs; nothing
# registers itself by being imported. Periodic jobs: fn(factory, adapter_for, clock, config)
# -> number of things done, safe to run from several workers at once. Listeners: only a
# worker running forever starts them, each in a daemon thread: fn(factory, clock, config,
# stopping) -> None.
HANDLERS = tables.DISPATCH
OUTBOX_KINDS = tables.OUTBOX_KINDS
PERIODIC: list[Callable[..., int]] = [*tables.PERIODIC, *registry.periodic_jobs()]
LISTENERS: list[Callable[..., None]] = registry.listeners()


@dataclass
class Tally:
    """What a `--once` run did: events processed, forum calls made, calls held back."""

    events: int = 0
    calls: int = 0
    held: int = 0
    # Outgoing webhook deliveries tried (answered 2xx or not): said in words only, as the
    # JSON document's keys are the operator contract's.
    webhooks: int = 0

    def add(self, events: int, calls: int, held: int, webhooks: int = 0) -> None:
        """Count one pass; what is held is what the latest pass had to give back."""
        # A held row is given back in every pass until the run ends, so only the last
        # pass says how much still waits for a later run.
        self.events += events
        self.calls += calls
        self.held = held
        self.webhooks += webhooks

    def describe(self) -> str:
        """One short line in words."""
        if not (self.events or self.calls or self.held or self.webhooks):
            return "nothing was due"
        text = f"processed {_count(self.events, 'event')}, made {_count(self.calls, 'forum call')}"
        if self.webhooks:
            text += f", tried {_count(self.webhooks, 'webhook delivery', 'webhook deliveries')}"
        if self.held:
            text += f"; {_count(self.held, 'call')} held for later (rate limit or quiet hours)"
        return text


def _count(n: int, noun: str, plural: str = "") -> str:
    """`n` and the noun, plural unless n is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


class Worker:
    """Runs passes until nothing is due (--once) or until asked to stop."""

    def __init__(self, config: Config, factory: sessionmaker[Session], clock: Clock) -> None:
        secretbox.configure(config)  # the forums' API keys are decrypted with these keys
        self.config = config
        self.factory = factory
        self.clock = clock
        self.owner = worker_name()
        self.lease = timedelta(seconds=config.lease_seconds)
        self.adapter_for = adapter_factory(
            factory, clock, allowed_hosts=config.allowed_internal_hosts
        )
        self.stopping = threading.Event()
        self.stranded = False  # a pass failed on the database: it may have left claims

    def release_stranded(self) -> None:
        """Give back the rows claimed in a pass that the database cut short."""
        # This worker no longer works on them, and nobody else may take them before the
        # lease runs out (minutes): due again now, an outbox row in "sending" as uncertain.
        with transaction(self.factory) as session:
            for model in (InboxEvent, OutboxMessage, WebHookDelivery):
                release_all(session, model, self.owner)
        self.stranded = False

    def run_pass(self, tally: Tally | None = None) -> int:
        """One pass over everything that is due; returns how much progressed."""
        held: set[int] = set()  # forums whose budget ran out during this pass
        events = inbox.process_due(
            self.factory,
            self.adapter_for,
            owner=self.owner,
            clock=self.clock,
            lease=self.lease,
            handlers=HANDLERS,
            settings=self.config,
            held_forums=held,
        )
        progressed = events.progressed
        for job in PERIODIC:
            progressed += job(self.factory, self.adapter_for, self.clock, self.config)
        calls = outbox.deliver_due(
            self.factory,
            self.adapter_for,
            owner=self.owner,
            now=self.clock.now(),
            lease=self.lease,
            kinds=OUTBOX_KINDS,
            held_forums=held,
            settings=self.config,
        )
        webhooks = hooks.deliver_due(self.factory, **self.hook_options()).progressed
        if tally is not None:
            tally.add(events.progressed, calls.progressed, events.held + calls.held, webhooks)
        return progressed + calls.progressed + webhooks

    def hook_options(self) -> dict[str, Any]:
        """How this worker delivers outgoing webhooks: its lease, clock and allow-list."""
        now, hosts = self.clock.now(), self.config.allowed_internal_hosts
        return {"owner": self.owner, "now": now, "lease": self.lease, "allowed_hosts": hosts}

    def run_once(self) -> Tally:
        """Work until nothing more is due at the logical now; what it did."""
        tally = Tally()
        while not self.stopping.is_set() and self.run_pass(tally):
            pass
        return tally

    def run_forever(self) -> None:
        """Poll until SIGTERM/SIGINT; an interrupted pass loses nothing (leases)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        for listener in LISTENERS:
            args = (self.factory, self.clock, self.config, self.stopping)
            threading.Thread(target=listener, args=args, daemon=True).start()
        log.info("worker %s started", self.owner)
        failures = 0
        while not self.stopping.is_set():
            failures = self._pass_or_pause(failures)
        log.info("worker %s stopped", self.owner)

    def _pass_or_pause(self, failures: int) -> int:
        """One pass, then a pause if idle or failed; how many passes in a row have failed."""
        try:
            if self.stranded:
                self.release_stranded()
            busy = self.run_pass()
        except DATABASE_ERRORS as exc:  # e.g. the database restarting: wait, then go on
            self.stranded = True
            delay = retry_delay(failures + 1)
            log_database_error(log, f"worker pass failed (retrying in {delay:g} s)", exc)
            self.stopping.wait(delay)
            return failures + 1
        except Exception:  # noqa: BLE001 - a bug in one pass must not stop the service
            log.exception("worker pass failed")
            self.stopping.wait(POLL_SECONDS)
            return failures + 1
        if not busy:
            self.stopping.wait(POLL_SECONDS)
        return 0


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failed passes in a row: doubling, at most 5 s."""
    # Short: a restarting database is usually back within seconds, and every second
    # waited is a second of delay for events already acknowledged.
    return min(POLL_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
