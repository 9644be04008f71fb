"""What Zulip tells us, in the events the domain handlers consume (plugin/events.py).

Two sources (NOTES.md §1, §2): outgoing-webhook requests carry messages (post_created);
the event queue carries membership (user_added_to_group / user_removed_from_group) and
deactivation (user_destroyed). Message text is dropped here, before anything is written,
unless the message starts with a command word.
"""

from __future__ import annotations

import logging
from typing import Any

from plugin.engine.inbox import StoredEvent
from plugin.engine.payloads import (
    MAX_INT32,
    MAX_INT64,
    BadPayload,
    bounded,
    command_text,
    require_id,
    require_object,
    require_timestamp,
)
from plugin.zulip.client import thread_name

log = logging.getLogger(__name__)
# Pair.thread holds 64 characters; a pair's thread ("mentor,mentee") is far shorter.
MAX_THREAD = 64


def _recipients(message: dict) -> list[dict]:
    people = message.get("display_recipient")
    if not isinstance(people, list) or not all(
        isinstance(p, dict) and type(p.get("id")) is int and 0 < p["id"] <= MAX_INT32
        for p in people
    ):
        raise BadPayload("a direct message's 'display_recipient' must list users with ids")
    return people


def outgoing(body: dict, bot_email: str) -> StoredEvent | None:
    """A message the outgoing-webhook bot was sent, or None to acknowledge and drop it."""
    message = require_object(body, "message")
    # Pair threads and messages to the bot are direct messages ("private" on the wire);
    # a mention in a channel is not ours to act on.
    if message.get("type") != "private":
        return None
    fields: dict[str, Any] = {
        "post_id": require_id(message, "id", MAX_INT64),
        "user_id": require_id(message, "sender_id"),
        "created_at": require_timestamp(message, "timestamp"),
    }
    bot = bot_email.casefold()
    if str(message.get("sender_email", "")).casefold() == bot:
        return None  # Zulip never sends the bot's own messages; be safe all the same
    others = [p["id"] for p in _recipients(message) if str(p.get("email", "")).casefold() != bot]
    thread = thread_name(others)
    # A large group conversation is never a pair's thread, and a digest of it could not be
    # answered: keep who and when under a bounded key, and no command.
    fields["topic_id"] = bounded(thread, MAX_THREAD)
    one_to_one = others == [fields["user_id"]]
    text = body.get("data") if isinstance(body.get("data"), str) else message.get("content")
    command = command_text(text, bare_allowed=one_to_one) if len(thread) <= MAX_THREAD else None
    if command is not None:
        fields["command"] = command
    elif one_to_one:
        # Someone wrote to the bot, not a command: keep none of it, only that it was for the
        # bot, so the worker can answer with the help instead of leaving them unanswered.
        fields["to_bot"] = True
    return StoredEvent(
        event="post_created",
        content_key=f"post_created:{fields['post_id']}",
        payload=fields,
        ordering_key=f"topic:{fields['topic_id']}",
    )


def _membership(event: dict, queue_id: str) -> list[StoredEvent]:
    name = {"add_members": "user_added_to_group", "remove_members": "user_removed_from_group"}
    group_id, user_ids = event.get("group_id"), event.get("user_ids")
    if not isinstance(group_id, int) or not isinstance(user_ids, list):
        log.warning("user_group %s event without group_id/user_ids; skipped", event.get("op"))
        return []
    return [
        StoredEvent(
            event=name[event["op"]],
            # Event ids are unique within a queue: the same event read twice (a poll whose
            # acknowledgement was lost) is a duplicate, the same change made again is not.
            content_key=f"{name[event['op']]}:{group_id}:{user_id}:{queue_id}:{event.get('id')}",
            payload={"group_id": group_id, "user_id": user_id},
            ordering_key=f"user:{user_id}",
        )
        for user_id in user_ids
        if isinstance(user_id, int)
    ]


def deactivated(user_id: int) -> StoredEvent:
    """A deactivated account: the service erases what it holds about them."""
    return StoredEvent(
        event="user_destroyed",
        content_key=f"user_destroyed:{user_id}",
        payload={"user_id": user_id},
        ordering_key=f"user:{user_id}",
    )


def queue_events(event: dict, queue_id: str) -> list[StoredEvent]:
    """The stored form of one event-queue event (none for those we do not use)."""
    kind, op = event.get("type"), event.get("op")
    if kind == "user_group" and op in ("add_members", "remove_members"):
        return _membership(event, queue_id)
    if kind == "realm_user" and op == "update":
        person = event.get("person") or {}
        # Since FL 222 deactivation is an update with is_active false. `realm_user`
        # `remove` only means a guest lost sight of a user (FL 228+): not a deletion.
        if person.get("is_active") is False and isinstance(person.get("user_id"), int):
            return [deactivated(person["user_id"])]
    return []
