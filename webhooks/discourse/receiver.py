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

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from plugin.db import reading, transaction
from plugin.discourse.events import BadPayload, minimise
from plugin.inbox import store
from plugin.models import Forum

bp = Blueprint("discourse_webhooks", __name__, url_prefix="/webhooks/discourse")
log = logging.getLogger(__name__)


def _answer(code: int, **body):
    return jsonify(body), code


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


@bp.post("/<forum_name>")
def receive(forum_name: str):
    """Store one Discourse webhook event durably, or say why not."""
    factory = current_app.extensions["mentorship"].sessions
    try:
        with reading(factory) as session:
            row = session.execute(
                select(Forum.id, Forum.webhook_secret, Forum.bot_user).where(
                    Forum.name == forum_name, Forum.kind == "discourse"
                )
            ).first()
    except SQLAlchemyError:
        log.exception("database unavailable")
        return _answer(503, error="database unavailable; retry later")
    if row is None:
        return _answer(404, error="unknown forum")
    forum_id, secret, bot_user = row
    body = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH
    if not signature_ok(secret, body, request.headers.get("X-Discourse-Event-Signature")):
        log.warning("discourse/%s: bad signature", forum_name)
        return _answer(401, error="bad signature")
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
        return _answer(200, status="ignored")
    delivery_id = request.headers.get("X-Discourse-Event-Id", "").strip()[:64] or None
    try:
        with transaction(factory) as session:
            new = store(session, forum_id, delivery_id, stored)
    except OperationalError:
        log.exception("could not store a %s event", event)
        return _answer(503, error="could not store the event; retry later")
    return _answer(200, status="stored" if new else "duplicate")
