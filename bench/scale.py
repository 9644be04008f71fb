"""Scale benchmark: what grows with the stored state, each figure beside its baseline.

    python bench/scale.py [--quick] [--postgres URL] [--duration 10] [--keep]

It builds large states directly in the database (bulk inserts: executemany on SQLite,
COPY on PostgreSQL; no forum is needed) and prints, in one run:

* a scheduler pass over a big table of pairs (1% due) beside the same number of due pairs
  in a table of only those pairs (goal: under 1 s, ratio near 1);
* the time to drain a backlog of due pairs beside one ten times smaller (goal: ratio near 10);
* a claim of 50 with events waiting, over many kept (processed) events and over none
  (goal: ratio under 1.5);
* the worker's peak RSS over `worker --once` at the big size (goal: under 150 MB);
* webhook ingest (bench/ingest.py's load: wrk and pre-signed events) into the database
  holding the kept events, as a ratio to an empty one (goal: at least 0.9), and on
  PostgreSQL beside SQLite's figure, with four gunicorn workers.

Every measurement runs on SQLite and, with --postgres (an admin URL: the script creates
throwaway databases there and drops them), on PostgreSQL. --quick is a small version for
tests. Exit status: 0 when every row was measured (goals are reported, not enforced),
3 when a measurement could not run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, insert, text  # noqa: E402

from bench import ingest  # noqa: E402
from plugin.config import Config  # noqa: E402
from plugin.domain.programs import service  # noqa: E402
from plugin.domain.schedule import schedule_due  # noqa: E402
from plugin.engine.adapter import ForumGroup  # noqa: E402
from plugin.engine.clock import Clock  # noqa: E402
from plugin.engine.leases import claim  # noqa: E402
from plugin.storage import secretbox  # noqa: E402
from plugin.storage.db import dispose_engines, get_engine, session_factory, transaction  # noqa: E402
from plugin.storage.models import Forum, InboxEvent, Member, Pair, Signup  # noqa: E402

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)  # midday UTC: outside the quiet hours
CHUNK = 20_000
EXIT_BROKEN = 3


@dataclass(frozen=True)
class Sizes:
    """The sizes of one run (full or --quick)."""

    pairs: int  # the big table of pairs, 1% due
    backlog: int  # due pairs to drain; the baseline drains a tenth of it
    kept: int  # processed events kept in the inbox
    waiting: int  # events waiting when a claim runs
    duration: int  # seconds of wrk load per ingest run


FULL = Sizes(pairs=100_000, backlog=10_000, kept=1_000_000, waiting=20_000, duration=10)
QUICK = Sizes(pairs=5_000, backlog=500, kept=20_000, waiting=2_000, duration=1)


# -- databases ----------------------------------------------------------------------------


class Backend:
    """Throwaway databases on one backend: SQLite files in a temp dir, or PostgreSQL."""

    def __init__(self, name: str, tmp: Path, admin_url: str | None = None):
        self.name, self.tmp, self.admin_url = name, tmp, admin_url
        self.made: list[str] = []

    def new(self, label: str) -> str:
        """A new empty database's URL (not yet migrated)."""
        if self.admin_url is None:
            return f"sqlite:///{self.tmp / f'{label}.db'}"
        name = f"scale_{label}_{uuid.uuid4().hex[:8]}"
        with self._admin() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def _admin(self) -> Any:
        assert self.admin_url is not None
        return create_engine(self.admin_url, isolation_level="AUTOCOMMIT").connect()

    def drop_all(self) -> None:
        """Drop every database this backend made."""
        dispose_engines()
        if self.admin_url is None:
            return
        with self._admin() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def env_for(url: str, key: str) -> dict[str, str]:
    """The environment of a `mentorship` command on `url`."""
    return dict(
        os.environ,
        MENTORSHIP_DATABASE_URL=url,
        MENTORSHIP_SECRET_KEY=key,
        MENTORSHIP_ALLOWED_INTERNAL_HOSTS="127.0.0.1",
    )


def add_forum(url: str, key: str, name: str, cwd: Path) -> int:
    """Create (and migrate) the database with one Discourse forum through the CLI; its id."""
    argv = ingest.mentorship_command() + [
        "forum", "add", "--kind", "discourse", "--name", name, "--url", "http://127.0.0.1:9",
        "--api-key", "k", "--api-username", "mentor_bot", "--webhook-secret", "s" * 32,
        "--no-check",  # nothing answers on port 9: skip asking the forum
    ]  # fmt: skip
    done = subprocess.run(
        argv, cwd=cwd, env=env_for(url, key), capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise ingest.Broken(f"`mentorship forum add` failed:\n{done.stdout}{done.stderr}")
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT id FROM forums WHERE name = :n"), {"n": name}).scalar_one()


def bulk(engine: Engine, table: Any, rows: Iterator[dict]) -> None:
    """Insert many rows: COPY on PostgreSQL, executemany on SQLite, in chunks."""
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            _write(engine, table, chunk)
            chunk = []
    if chunk:
        _write(engine, table, chunk)


def _write(engine: Engine, table: Any, rows: list[dict]) -> None:
    columns = list(rows[0])
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
        return
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None  # a connection fresh from the pool is never detached
        cursor = driver.cursor()
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(tuple(_pg(row[c]) for c in columns))
        driver.commit()
    finally:
        raw.close()


def _pg(value: Any) -> Any:
    """A value as the schema stores it (naive UTC timestamps, enum values as strings)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def events(forum_id: int, count: int, *, state: str, first: int, threads: int) -> Iterator[dict]:
    """`count` inbox events in `threads` ordering keys; processed ones keep no payload."""
    for n in range(first, first + count):
        yield {
            "forum_id": forum_id,
            "delivery_id": None,
            "event": "post_created",
            "content_key": f"post_created:{n}",
            "payload": None if state == "done" else '{"post_id":1}',
            "ordering_key": f"topic:{n % threads}",
            "state": state,
            "attempts": 0,
            "run_at": datetime(1970, 1, 1, tzinfo=UTC),
            "created_at": NOW,
            "processed_at": NOW if state == "done" else None,
        }


def add_pairs(url: str, forum_id: int, count: int, due: int) -> None:
    """`count` running pairs of one weekly program; the first `due` of them are due now."""
    engine = get_engine(url)
    factory = session_factory(engine)
    resolved = service.Resolved(
        ForumGroup(40, "community"), ForumGroup(43, "mentors"), ForumGroup(44, "mentees"), []
    )
    with transaction(factory) as session:
        forum = session.get_one(Forum, forum_id)
        program = service.create_program(
            session, forum, resolved, template="career", title="Scale", cadence_days=7
        )
        program.state = "open"
        session.flush()
        program_id = program.id
    with engine.connect() as conn:
        base = conn.execute(text("SELECT coalesce(max(id), 0) FROM members")).scalar_one()
    people = range(base + 1, base + 2 * count + 1)
    bulk(engine, Member.__table__, (
        {"id": i, "forum_id": forum_id, "forum_user_id": 10_000_000 + i, "username": f"u{i}",
         "name": f"U {i}", "erased": False} for i in people
    ))  # fmt: skip
    bulk(engine, Signup.__table__, (
        {"id": i, "program_id": program_id, "member_id": i,
         "role": "mentor" if (i - base) % 2 else "mentee", "state": "paired", "about": None,
         "topics": "python", "timezone": "UTC", "age_confirmed": True, "capacity": 1,
         "priority": False, "link_version": 0, "created_at": NOW} for i in people
    ))  # fmt: skip

    def pair(n: int) -> dict:
        is_due = n < due  # paired eight days ago: step 2 falls due now
        return {
            "program_id": program_id, "forum_id": forum_id,
            "mentor_id": base + 2 * n + 1, "mentee_id": base + 2 * n + 2,
            "state": "active", "thread": str(100_000 + n),
            "paired_at": NOW - timedelta(days=8 if is_due else 1),
            "step_scheduled": 1, "step_posted": 1,
            "next_due_at": NOW - timedelta(hours=1) if is_due else NOW + timedelta(days=6),
            "last_activity_at": NOW - timedelta(hours=2), "nudges": 0, "paused_seconds": 0.0,
            "steps_done": 0,
        }  # fmt: skip

    bulk(engine, Pair.__table__, (pair(n) for n in range(count)))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("members", "signups"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))


# -- measurements --------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of `fn` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def scheduler_pass(url: str, key: str) -> float:
    """Seconds of one scheduler pass (it moves every due pair along)."""
    config = Config(database_url=url, secret_key=key, base_url="http://127.0.0.1:9")
    factory = session_factory(get_engine(url))
    return timed(lambda: schedule_due(factory, lambda _f: None, Clock(NOW), config))


def claim_time(url: str, repeats: int = 5) -> float:
    """Median seconds of a claim of 50 (rolled back, so every repeat sees the same rows)."""
    factory = session_factory(get_engine(url))
    times = []
    for _ in range(repeats):
        with factory() as session:
            times.append(
                timed(
                    lambda s=session: claim(
                        s, InboxEvent, owner="bench", now=NOW, lease=timedelta(minutes=2), limit=50
                    )
                )
            )
            session.rollback()
    return statistics.median(times)


def worker_rss_mb(url: str, key: str, cwd: Path) -> float:
    """Peak RSS (MB) of `mentorship worker --once` over what is due at NOW."""
    argv = ingest.mentorship_command() + ["worker", "--once", "--now", NOW.isoformat()]
    log = cwd / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env_for(url, key), stdout=out, stderr=subprocess.STDOUT
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
    tail = log.read_text(errors="replace")[-2000:]
    # The bench forum never answers (port 9): the worker may end on that, after its pass.
    if status != 0 and "did not answer" not in tail:
        raise ingest.Broken(f"`mentorship worker --once` exited with status {status}:\n{tail}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def ingest_rate(args: argparse.Namespace, url: str, tmp: Path, workers: int) -> float:
    """Events/s that our receiver stores on `url` under wrk (bench/ingest.py's load)."""
    if shutil.which("wrk") is None:
        raise ingest.Broken("wrk is not installed (apt-get install wrk), or use --no-ingest")
    wrk_args = ingest.parse_args(
        ["--duration", str(args.sizes.duration), "--workers", str(workers), "--quiet-wait", "0",
         "--requests", "6000" if args.quick else "50000"]
    )  # fmt: skip
    secret = secrets.token_hex(24)
    os.environ["MENTORSHIP_SECRET_KEY"] = args.key  # start_ours' server reads the forum rows
    lua = tmp / "discourse.lua"
    lua.write_text(ingest.LUA.replace("__INSTANCE__", ingest.INSTANCE), encoding="utf-8")
    factory = ingest.RequestFactory(secret, first_id=10_000_000 + int(time.time() * 1000) % 10**8)
    server = ingest.start_ours(tmp, secret, workers, database_url=url)
    try:
        server.wait_healthy()
        ingest.smoke(server, factory)
        load = ingest.CpuMeter([server])
        ingest.run_wrk(wrk_args, server, load, factory, tmp, lua, 1, "warm-up")
        run = ingest.run_wrk(wrk_args, server, load, factory, tmp, lua, args.sizes.duration, "run")
    finally:
        server.stop()
    if run.failed or run.socket_errors or run.wrapped:
        raise ingest.Broken(f"ingest on {url.split('://')[0]}: {run}")
    return run.requests / run.duration_s


# -- the run ---------------------------------------------------------------------------------


def rows_for(args: argparse.Namespace, backend: Backend, key: str) -> list[tuple[str, str, str]]:
    """Every figure on one backend: (what, measured, baseline and ratio)."""
    s, tmp, name = args.sizes, backend.tmp, backend.name
    out: list[tuple[str, str, str]] = []
    print(f"[{name}] building {s.pairs:,} pairs and {s.kept:,} kept events ...", flush=True)
    big = backend.new("big")
    forum = add_forum(big, key, "seed", tmp)
    bulk(get_engine(big), InboxEvent.__table__,
         events(forum, s.kept, state="done", first=0, threads=max(1, s.kept // 20)))  # fmt: skip
    add_pairs(big, forum, s.pairs, s.pairs // 100)
    rss = None
    if name == "sqlite":  # one figure: the worker's memory does not depend on the backend
        print(f"[{name}] worker --once at that size ...", flush=True)
        clone = backend.new("clone")
        shutil.copyfile(big.removeprefix("sqlite:///"), clone.removeprefix("sqlite:///"))
        rss = worker_rss_mb(clone, key, tmp)
    small = backend.new("small")
    add_pairs(small, add_forum(small, key, "seed", tmp), s.pairs // 100, s.pairs // 100)
    big_pass = scheduler_pass(big, key)
    small_pass = scheduler_pass(small, key)
    out.append((
        f"scheduler pass, {s.pairs:,} pairs ({s.pairs // 100:,} due)",
        f"{big_pass:.3f} s",
        f"{s.pairs // 100:,} pairs, all due: {small_pass:.3f} s; ratio {big_pass / small_pass:.2f}",
    ))  # fmt: skip
    if rss is not None:
        out.append((f"worker --once peak RSS, {s.pairs:,} pairs, {s.kept:,} events",
                    f"{rss:.0f} MB", "goal < 150 MB"))  # fmt: skip
    print(f"[{name}] draining backlogs ...", flush=True)
    drains = []
    for count in (s.backlog // 10, s.backlog):
        url = backend.new(f"backlog{count}")
        add_pairs(url, add_forum(url, key, "seed", tmp), count, count)
        drains.append(scheduler_pass(url, key))
    out.append((
        f"drain {s.backlog:,} due pairs", f"{drains[1]:.3f} s",
        f"{s.backlog // 10:,}: {drains[0]:.3f} s; ratio {drains[1] / drains[0]:.1f} (goal ~10)",
    ))  # fmt: skip
    print(f"[{name}] claims ...", flush=True)
    claims = []
    for url in (small, big):
        with get_engine(url).connect() as conn:
            forum_id = conn.execute(text("SELECT min(id) FROM forums")).scalar_one()
        bulk(get_engine(url), InboxEvent.__table__,
             events(forum_id, s.waiting, state="pending", first=s.kept + 1,
                    threads=max(1, s.kept // 20)))  # fmt: skip
        if get_engine(url).dialect.name == "postgresql":
            with get_engine(url).begin() as conn:
                conn.execute(text("ANALYZE inbox_events"))
        claims.append(claim_time(url))
    out.append((
        f"claim 50 of {s.waiting:,} waiting, {s.kept:,} kept", f"{claims[1] * 1000:.1f} ms",
        f"0 kept: {claims[0] * 1000:.1f} ms; ratio {claims[1] / claims[0]:.2f} (goal < 1.5)",
    ))  # fmt: skip
    if not args.no_ingest:
        print(f"[{name}] ingest under wrk ...", flush=True)
        empty = backend.new("empty")
        add_forum(empty, key, "seed", tmp)
        workers = 4
        rates = [ingest_rate(args, url, tmp, workers) for url in (empty, big)]
        out.append((
            f"ingest, {workers} workers, into {s.kept:,} kept events", f"{rates[1]:,.0f} ev/s",
            f"empty: {rates[0]:,.0f} ev/s; ratio {rates[1] / rates[0]:.2f} (goal >= 0.9)",
        ))  # fmt: skip
    dispose_engines()
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, for tests")
    p.add_argument("--postgres", help="a PostgreSQL admin URL: also measure there")
    p.add_argument("--skip-sqlite", action="store_true", help="with --postgres: only there")
    p.add_argument("--no-ingest", action="store_true", help="skip the wrk ingest rows")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args(argv)
    args.sizes = QUICK if args.quick else FULL
    return args


def main(argv: list[str] | None = None) -> int:
    """Measure on each backend and print one table."""
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mentorship-scale-"))
    key = args.key = secrets.token_urlsafe(48)
    # Forum rows carry encrypted secrets: this process reads them with the CLI's key.
    secretbox.configure(Config(database_url="sqlite://", secret_key=key, base_url=""))
    backends = [] if args.skip_sqlite and args.postgres else [Backend("sqlite", tmp)]
    if args.postgres:
        url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        backends.append(Backend("postgresql", tmp, url))
    table: list[tuple[str, str, str, str]] = []
    try:
        for backend in backends:
            try:
                table += [(backend.name, *row) for row in rows_for(args, backend, key)]
            finally:
                backend.drop_all()
    except ingest.Broken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    for name, what, value, base in table:
        print(f"{name:<10} {what:<52} {value:>14}   {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
