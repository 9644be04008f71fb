"""Engine, sessions and schema upgrades for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    FromClause,
    Insert,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ENGINES: dict[str, Engine] = {}
# Seconds to wait for a PostgreSQL server to accept a connection: one that does not answer
# (a host down, a firewall dropping packets) gets a 503 in time, not a gunicorn timeout.
PG_CONNECT_TIMEOUT = 5

# Whatever a failing database raises: SQLAlchemy's wrapped errors, and sqlite3's own on
# the receiver's raw-driver fast path (inbox.store_now).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store an aware datetime as naive UTC; refuse a naive one."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read a stored naive UTC datetime back as an aware one."""
        return None if value is None else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so that SQLAlchemy's "begin" below decides how a
    # transaction starts (the pysqlite recipe from SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: an event we acknowledged survives a power cut, not only a crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # Erased member data is overwritten in the file, not just unlinked from the b-tree.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Take the write lock up front: read-then-write transactions (claims, budgets) would
    # otherwise fail with SQLITE_BUSY on upgrade instead of waiting for busy_timeout.
    # Read-only sessions (see `reading`) begin deferred and never block writers.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _owner_only_files(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does, and tighten one that is not.

    SQLite gives -wal and -shm the main file's mode, so this covers them once they are
    recreated; existing ones are tightened here too.
    """
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:" or parsed.query.get("uri"):
        return
    path = Path(parsed.database)
    try:
        # O_EXCL: never touch a file another process just created; an empty file is a
        # valid empty database to SQLite.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # e.g. no such directory: SQLite reports that in its own words
    for suffix in ("", "-wal", "-shm", "-journal"):
        _tighten(path.with_name(path.name + suffix))


def _tighten(path: Path) -> None:
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except FileNotFoundError:
        pass
    except OSError as exc:  # e.g. another user's file: still usable, but say so
        logging.getLogger(__name__).warning("could not make %s owner-only: %s", path, exc)


def get_engine(url: str) -> Engine:
    """One engine per URL and process, configured for its backend."""
    engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    if url.startswith("sqlite"):
        _owner_only_files(url)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # pool_pre_ping: a connection the server dropped (a restart) is replaced on checkout
        # instead of failing the request that drew it; SQLAlchemy also invalidates the
        # whole pool when a statement hits a disconnect.
        connect_args = {}
        if "connect_timeout" not in make_url(url).query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args
        )
    _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    """Close pooled connections and forget the engines (before forking, between tests)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def forget_inherited_connections() -> None:
    """In a forked child: start with empty pools, leaving the parent's connections alone."""
    # A connection pooled before fork() is one socket shared by two processes: they
    # interleave their statements and read each other's results (on PostgreSQL e.g.
    # DuplicatePreparedStatement). close=False: closing would end the parent's session
    # (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()").
    for engine in _ENGINES.values():
        engine.dispose(close=False)


# Every fork: gunicorn's workers, and anything else that forks after an engine was used.
os.register_at_fork(after_in_child=forget_inherited_connections)


def is_unavailable(exc: BaseException) -> bool:
    """The database is down, restarting or unreachable (not a wrong statement)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | sqlite3.OperationalError)


def log_database_error(log: logging.Logger, what: str, exc: BaseException) -> None:
    """One line when the database is unavailable (a traceback adds nothing); else all."""
    if is_unavailable(exc):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("%s: database unavailable: %s", what, first)
    else:
        log.error("%s", what, exc_info=exc)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite it takes no write lock."""
    with factory() as session:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        yield session


def upsert_ignore(session: Session, mapped: FromClause, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was written."""
    dialect = session.get_bind().dialect.name
    table = cast(Table, mapped)  # a model's __table__ is a Table, though typed FromClause
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table).values(**values)
    # RETURNING, not rowcount: psycopg reports -1 for a conflict-skipping INSERT.
    return session.execute(stmt.returning(table.c.id)).first() is not None


def insert_ignore_many(session: Session, mapped: FromClause, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of many rows in one executemany, in list order."""
    if not rows:
        return
    table = cast(Table, mapped)
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table)
    session.execute(stmt, rows)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (safe to run from several processes)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    # A migration that rewrote secrets names its tables: their old versions must go too.
    scrub_old_versions(engine, sorted(cfg.attributes.get("scrub_tables", ())))


def scrub_old_versions(engine: Engine, tables: list[str]) -> None:
    """Make rewritten rows' old versions unreadable from the database's files.

    SQLite overwrites freed pages (secure_delete) but old pages stay in the WAL until a
    checkpoint truncates it. PostgreSQL keeps dead row versions until a VACUUM frees them:
    a plain VACUUM, which takes no lock that blocks reads or writes. VACUUM FULL would
    rewrite the tables under an exclusive lock (5.8 s on 1,000,000 events while webhooks
    waited, issue 12); the space a plain VACUUM frees is reused by new rows and the
    retention purge keeps the tables small.
    """
    if not tables:
        return
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
        try:
            driver = raw.driver_connection
            assert driver is not None  # a connection fresh from the pool is never detached
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f'VACUUM "{table}"')


def is_current(engine: Engine) -> bool:
    """True when the database is already at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def ensure_schema(engine: Engine) -> None:
    """Upgrade only when needed, so every command works on a fresh database."""
    if not is_current(engine):
        upgrade(engine)
