"""POST /webhooks/zulip/<forum>: an outgoing-webhook bot's requests (docs/forums/zulip.md §1).

The token sits inside the JSON body, so the body is parsed first and the token compared
second (in constant time; the token it replaced too, for a while after a change). Every
rejection is logged with its reason, never the body or the token. Then the minimised
message is stored and committed before the 2xx. Zulip posts the text of any non-JSON or
non-object answer into the conversation, so every answer is a JSON object; a 2xx is
always {"response_not_required": true}, since the worker does the replying. Zulip retries
only timeouts and connection errors, never a 5xx.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Row, select
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.engine.inbox import store
from plugin.engine.payloads import BadPayload
from plugin.storage.db import DATABASE_ERRORS, log_database_error, reading, transaction
from plugin.storage.models import Forum
from plugin.zulip.events import outgoing
from webhooks.common import known_name, loggable, parse_object, previous_secret, rejected

bp = Blueprint("zulip_webhooks", __name__, url_prefix="/webhooks/zulip")
log = logging.getLogger(__name__)
NO_REPLY = {"response_not_required": True}


def _answer(code: int, error: str | None = None) -> ResponseReturnValue:
    body = dict(NO_REPLY) if error is None else {**NO_REPLY, "error": error}
    return jsonify(body), code


def token_ok(expected: str, given: object) -> bool:
    """The body's token equals the forum's, compared in constant time."""
    if not isinstance(given, str):
        return False
    # surrogatepass: a JSON "\\ud800" in the token is a wrong token, not an exception.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


_LOOKUP = select(
    Forum.id,
    Forum.webhook_secret,
    Forum.bot_user,
    Forum.previous_webhook_secret,
    Forum.webhook_secret_replaced_at,
)


def _reject(forum_name: str, code: int, reason: str) -> ResponseReturnValue:
    rejected("zulip", forum_name, code, reason)
    return _answer(code, reason)


def _token_accepted(row: Row, given: object) -> bool:
    """The current token, or the one it replaced while within the overlap window."""
    if token_ok(row.webhook_secret, given):
        return True
    previous = previous_secret(row.previous_webhook_secret, row.webhook_secret_replaced_at)
    return previous is not None and token_ok(previous, given)


@bp.post("/<forum_name>")
def receive(forum_name: str) -> ResponseReturnValue:
    """Store one message the bot was sent, or say why not."""
    factory = current_app.extensions["mentorship"].sessions
    if not known_name(forum_name):
        return _reject(forum_name, 404, "unknown forum")
    try:
        with reading(factory) as session:
            row = session.execute(
                _LOOKUP.where(Forum.name == forum_name, Forum.kind == "zulip")
            ).first()
    except DATABASE_ERRORS as exc:
        log_database_error(log, f"zulip/{loggable(forum_name)}: could not look the forum up", exc)
        return _answer(503, "database unavailable")
    if row is None:
        return _reject(forum_name, 404, "unknown forum")
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _reject(forum_name, 413, "body over 1 MiB")
    payload, reason = parse_object(raw)
    if payload is None:
        return _reject(forum_name, 400, reason)
    if not _token_accepted(row, payload.get("token")):
        return _reject(forum_name, 401, "bad token")
    try:
        stored = outgoing(payload, row.bot_user)
    except BadPayload as exc:
        return _reject(forum_name, 400, str(exc))
    if stored is None:
        return _answer(200)
    try:
        with transaction(factory) as session:
            store(session, row.id, None, stored)  # deduplicated by message id
    except DATABASE_ERRORS as exc:  # any of them, not only a lost connection: 503, not 500
        log_database_error(log, f"zulip/{loggable(forum_name)}: could not store a message", exc)
        return _answer(503, "could not store the message")
    return _answer(200)
