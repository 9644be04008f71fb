"""POST /webhooks/zulip/<forum>: an outgoing-webhook bot's requests (NOTES.md §1).

The token sits inside the JSON body, so the body is parsed first and the token compared
second (in constant time). Then the minimised message is stored and committed before the
2xx. Zulip posts the text of any non-JSON or non-object answer into the conversation, so
every answer is a JSON object; a 2xx is always {"response_not_required": true}, since the
worker does the replying. Zulip retries only timeouts and connection errors, never a 5xx.
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.db import DATABASE_ERRORS, log_database_error, reading, transaction
from plugin.inbox import store
from plugin.models import Forum
from plugin.payloads import BadPayload
from plugin.zulip.events import outgoing

bp = Blueprint("zulip_webhooks", __name__, url_prefix="/webhooks/zulip")
log = logging.getLogger(__name__)
NO_REPLY = {"response_not_required": True}


def _answer(code: int, error: str | None = None):
    body = dict(NO_REPLY) if error is None else {**NO_REPLY, "error": error}
    return jsonify(body), code


def token_ok(expected: str, given) -> bool:
    """The body's token equals the forum's, compared in constant time."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@bp.post("/<forum_name>")
def receive(forum_name: str):
    """Store one message the bot was sent, or say why not."""
    factory = current_app.extensions["mentorship"].sessions
    try:
        with reading(factory) as session:
            row = session.execute(
                select(Forum.id, Forum.webhook_secret, Forum.bot_user).where(
                    Forum.name == forum_name, Forum.kind == "zulip"
                )
            ).first()
    except DATABASE_ERRORS as exc:
        log_database_error(log, f"zulip/{forum_name}: could not look the forum up", exc)
        return _answer(503, "database unavailable")
    if row is None:
        return _answer(404, "unknown forum")
    forum_id, token, bot_email = row
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _answer(413, "body over 1 MiB")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, "the body is not a JSON object")
    if not token_ok(token, payload.get("token")):
        log.warning("zulip/%s: bad token", forum_name)
        return _answer(401, "bad token")
    try:
        stored = outgoing(payload, bot_email)
    except BadPayload as exc:
        return _answer(400, str(exc))
    if stored is None:
        return _answer(200)
    try:
        with transaction(factory) as session:
            store(session, forum_id, None, stored)  # deduplicated by message id
    except DATABASE_ERRORS as exc:  # any of them, not only a lost connection: 503, not 500
        log_database_error(log, f"zulip/{forum_name}: could not store a message event", exc)
        return _answer(503, "could not store the message")
    return _answer(200)
