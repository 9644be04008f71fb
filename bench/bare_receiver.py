"""A bare Discourse webhook receiver: the baseline that bench/ingest.py compares ours with.

Only what a durable webhook ack cannot do without: check `X-Discourse-Event-Signature`
(`sha256=<hex HMAC-SHA256(secret, raw body)>`, hmac.compare_digest) over the raw body, then
one `BEGIN IMMEDIATE; INSERT ... ON CONFLICT DO NOTHING; COMMIT` into its own SQLite file
(WAL, synchronous=FULL, busy_timeout) through the sqlite3 module, then 200. No JSON parsing,
no ORM, no forum lookup. The raw body is stored, as an inbox that parses later would do.

Served the same way as ours, by gunicorn's sync workers, e.g.:

    BARE_RECEIVER_DB=/tmp/bare.db BARE_RECEIVER_SECRET=... \\
        python -m gunicorn -w 2 -k sync -b 127.0.0.1:8001 bench.bare_receiver:app

Call `init_db(path)` once before the workers start (bench/ingest.py does).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import time

from flask import Flask, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL
)
"""
INSERT = (
    "INSERT INTO events (event_id, event, body, received_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING"
)


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), WAL and FULL sync."""
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def init_db(path: str) -> None:
    """Create the table; run once, before the server's workers start."""
    conn = connect(path)
    try:
        conn.execute(SCHEMA)
    finally:
        conn.close()


app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
_SECRET = os.environ.get("BARE_RECEIVER_SECRET", "").encode()
_DB = os.environ.get("BARE_RECEIVER_DB", "bare.db")
_conn: sqlite3.Connection | None = None  # one per worker process, opened after the fork


def _connection() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = connect(_DB)
    return _conn


@app.post("/webhooks/discourse/<forum_name>")
def receive(forum_name: str):
    body = request.get_data(cache=False)
    expected = "sha256=" + hmac.new(_SECRET, body, hashlib.sha256).hexdigest()
    given = request.headers.get("X-Discourse-Event-Signature", "").strip()
    if not _SECRET or not hmac.compare_digest(expected.encode(), given.encode()):
        return {"error": "bad signature"}, 401
    event_id = request.headers.get("X-Discourse-Event-Id", "").strip()
    if not event_id:
        return {"error": "missing X-Discourse-Event-Id header"}, 400
    event = request.headers.get("X-Discourse-Event", "").strip()
    conn = _connection()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            new = conn.execute(INSERT, (event_id, event, body, time.time())).rowcount == 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError:
        return {"error": "could not store the event; retry later"}, 503
    return {"status": "stored" if new else "duplicate"}, 200


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
