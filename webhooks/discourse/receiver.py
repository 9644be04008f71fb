"""POST /webhooks/discourse/<forum>: exactly as Discourse sends (NOTES.md §1).

Checks in a fixed order: which forum (404), size (413), signature over the raw bytes
(401), JSON (400), what the event needs (400); then stores the minimised event and
commits before answering 2xx. No forum is called on this path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import bindparam, select

from plugin.db import DATABASE_ERRORS, log_database_error
from plugin.discourse.events import minimise
from plugin.inbox import store_now
from plugin.models import Forum
from plugin.payloads import BadPayload

bp = Blueprint("discourse_webhooks", __name__, url_prefix="/webhooks/discourse")
log = logging.getLogger(__name__)


def _answer(code: int, **body):
    return jsonify(body), code


def _fixed(body: bytes):
    # The common answers, built without jsonify on the hot path.
    return lambda: Response(body, 200, mimetype="application/json")


_STORED = _fixed(b'{"status":"stored"}\n')
_DUPLICATE = _fixed(b'{"status":"duplicate"}\n')
_IGNORED = _fixed(b'{"status":"ignored"}\n')


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


# forum name -> (expires, (id, secret, bot user)); a short TTL so a changed secret or a new
# forum is seen within seconds, and a failed signature always re-reads before refusing.
_FORUMS: dict[tuple[str, str], tuple[float, tuple]] = {}
FORUM_TTL = 5.0


def _forum(engine, name: str, *, fresh: bool = False) -> tuple | None:
    key = (str(engine.url), name)
    cached = _FORUMS.get(key)
    if cached is not None and not fresh and cached[0] > time.monotonic():
        return cached[1]
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        row = conn.execute(_LOOKUP, {"name": name}).first()
    if row is None:
        _FORUMS.pop(key, None)  # never cache a miss: a forum added now must work now
        return None
    _FORUMS[key] = (time.monotonic() + FORUM_TTL, tuple(row))
    return _FORUMS[key][1]


_LOOKUP = select(Forum.id, Forum.webhook_secret, Forum.bot_user).where(
    Forum.name == bindparam("name"), Forum.kind == "discourse"
)


@bp.post("/<forum_name>")
def receive(forum_name: str):
    """Store one Discourse webhook event durably, or say why not."""
    engine = current_app.extensions["mentorship"].sessions.kw["bind"]
    try:
        forum = _forum(engine, forum_name)
    except DATABASE_ERRORS as exc:
        log_database_error(log, f"discourse/{forum_name}: could not look the forum up", exc)
        return _answer(503, error="database unavailable; retry later")
    if forum is None:
        return _answer(404, error="unknown forum")
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    signature = request.headers.get("X-Discourse-Event-Signature")
    if not signature_ok(forum[1], body, signature):
        try:  # the secret may have just changed
            forum = _forum(engine, forum_name, fresh=True)
        except DATABASE_ERRORS as exc:
            log_database_error(log, f"discourse/{forum_name}: could not re-read it", exc)
            return _answer(503, error="database unavailable; retry later")
        if forum is None or not signature_ok(forum[1], body, signature):
            log.warning("discourse/%s: bad signature", forum_name)
            return _answer(401, error="bad signature")
    forum_id, _secret, bot_user = forum
    # Discourse sends JSON even when the webhook's content type says form-urlencoded.
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, error="the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, error="the body is not a JSON object")
    event = request.headers.get("X-Discourse-Event", "").strip()
    if not event:
        return _answer(400, error="missing X-Discourse-Event header")
    try:
        stored = minimise(event, payload, bot_user)
    except BadPayload as exc:
        return _answer(400, error=f"{event}: {exc}")
    if stored is None:
        return _IGNORED()
    delivery_id = request.headers.get("X-Discourse-Event-Id", "").strip()[:64] or None
    try:
        new = store_now(engine, forum_id, delivery_id, stored)  # committed before we answer
    except DATABASE_ERRORS as exc:
        log_database_error(log, f"discourse/{forum_name}: could not store a {event} event", exc)
        return _answer(503, error="could not store the event; retry later")
    return _STORED() if new else _DUPLICATE()
