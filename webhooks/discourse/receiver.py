"""POST /webhooks/discourse/<forum>: exactly as Discourse sends (docs/forums/discourse.md §1).

Checks in a fixed order: which forum (404), size (413), signature over the raw bytes
(401; the previous secret too, for a while after it was replaced), JSON (400), what the
event needs (400); then stores the minimised event and commits before answering 2xx.
Every rejection is logged with its reason. No forum is called on this path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, bindparam, select
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.discourse.events import minimise
from plugin.engine.inbox import store_now
from plugin.engine.payloads import BadPayload
from plugin.storage.db import DATABASE_ERRORS, log_database_error
from plugin.storage.models import Forum
from webhooks.common import known_name, loggable, parse_object, previous_secret, rejected

bp = Blueprint("discourse_webhooks", __name__, url_prefix="/webhooks/discourse")
log = logging.getLogger(__name__)


def _answer(code: int, **body: Any) -> ResponseReturnValue:
    return jsonify(body), code


def _fixed(body: bytes) -> Callable[[], Response]:
    # The common answers, built without jsonify on the hot path.
    return lambda: Response(body, 200, mimetype="application/json")


_STORED = _fixed(b'{"status":"stored"}\n')
_DUPLICATE = _fixed(b'{"status":"duplicate"}\n')
_IGNORED = _fixed(b'{"status":"ignored"}\n')


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = (header or "").strip().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode(), given)


# forum name -> (expires, (id, secret, bot user, previous secret, replaced at)); a short TTL
# so a changed secret or a new forum is seen within seconds, and a failed signature always
# re-reads before refusing.
_FORUMS: dict[tuple[str, str], tuple[float, tuple]] = {}
FORUM_TTL = 5.0


def _forum(engine: Engine, name: str, *, fresh: bool = False) -> tuple | None:
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


_LOOKUP = select(
    Forum.id,
    Forum.webhook_secret,
    Forum.bot_user,
    Forum.previous_webhook_secret,
    Forum.webhook_secret_replaced_at,
).where(Forum.name == bindparam("name"), Forum.kind == "discourse")


def _signed_by(
    engine: Engine, name: str, forum: tuple, body: bytes, signature: str | None
) -> tuple | None:
    """The forum row whose current (or recently replaced) secret signed the body, or None."""
    if signature_ok(forum[1], body, signature):
        return forum  # the hot path: the cached row's current secret
    fresh = _forum(engine, name, fresh=True)  # the secret may have just changed
    if fresh is None:
        return None
    if signature_ok(fresh[1], body, signature):
        return fresh
    previous = previous_secret(fresh[3], fresh[4])
    if previous is not None and signature_ok(previous, body, signature):
        return fresh  # signed just before the secret changed: still within the overlap
    return None


def _reject(forum_name: str, code: int, reason: str) -> ResponseReturnValue:
    rejected("discourse", forum_name, code, reason)
    return _answer(code, error=reason)


def _delivery_id() -> str | None:
    """X-Discourse-Event-Id when it looks like one (kept for diagnosis only)."""
    value = request.headers.get("X-Discourse-Event-Id", "").strip()
    return value if DELIVERY_ID.fullmatch(value) else None


DELIVERY_ID = re.compile(r"[!-~]{1,64}")  # printable ASCII: any column and log takes it


@bp.post("/<forum_name>")
def receive(forum_name: str) -> ResponseReturnValue:
    """Store one Discourse webhook event durably, or say why not."""
    engine = current_app.extensions["mentorship"].sessions.kw["bind"]
    try:
        forum = _forum(engine, forum_name) if known_name(forum_name) else None
        if forum is None:
            return _reject(forum_name, 404, "unknown forum")
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _reject(forum_name, 413, "body over 1 MiB")
        signature = request.headers.get("X-Discourse-Event-Signature")
        forum = _signed_by(engine, forum_name, forum, body, signature)
    except DATABASE_ERRORS as exc:
        where = f"discourse/{loggable(forum_name)}"
        log_database_error(log, f"{where}: could not look the forum up", exc)
        return _answer(503, error="database unavailable; retry later")
    if forum is None:
        return _reject(forum_name, 401, "bad signature")
    forum_id, bot_user = forum[0], forum[2]
    # Discourse sends JSON even when the webhook's content type says form-urlencoded.
    payload, reason = parse_object(body)
    if payload is None:
        return _reject(forum_name, 400, reason)
    event = request.headers.get("X-Discourse-Event", "").strip()
    if not event:
        return _reject(forum_name, 400, "missing X-Discourse-Event header")
    try:
        stored = minimise(event, payload, bot_user)
    except BadPayload as exc:
        return _reject(forum_name, 400, f"{loggable(event)}: {exc}")
    if stored is None:
        return _IGNORED()
    try:
        new = store_now(engine, forum_id, _delivery_id(), stored)  # committed before we answer
    except DATABASE_ERRORS as exc:
        log_database_error(log, f"discourse/{loggable(forum_name)}: could not store an event", exc)
        return _answer(503, error="could not store the event; retry later")
    return _STORED() if new else _DUPLICATE()
