"""What Discourse webhooks mean to us: a dispatch table from event name to a minimiser.

A minimiser checks that the payload has what its event needs (else BadPayload: 400) and
returns only the fields the service uses (StoredEvent), or None when the event is
acknowledged and dropped. Post text is dropped here, before anything is written, unless
the post starts with a command word. Content keys name the event itself (post id and time,
membership row), never the delivery: a reused X-Discourse-Event-Id must not hide an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.discourse.chat import chat_message_id, chat_thread
from plugin.engine.inbox import StoredEvent
from plugin.engine.payloads import (
    MAX_INT32,
    MAX_INT64,
    command_text,
    require_id,
    require_instant,
    require_object,
)


def _system_user(post: dict, key: str = "user_id") -> bool:
    """Discourse's own users (system -1, discobot -2) post with ids at or below zero."""
    user_id = post.get(key)
    return type(user_id) is int and -MAX_INT32 <= user_id <= 0


def _post_created(body: dict, bot_username: str) -> StoredEvent | None:
    post = require_object(body, "post")
    if _system_user(post):
        return None  # notices from the forum itself are nobody's activity
    fields: dict[str, Any] = {
        "post_id": require_id(post, "id", MAX_INT64),
        "topic_id": require_id(post, "topic_id", MAX_INT64),
        "user_id": require_id(post, "user_id"),
        "created_at": require_instant(post, "created_at"),
    }
    # Pair threads and messages to the bot are private messages; nothing else concerns us.
    if post.get("topic_archetype") != "private_message":
        return None
    if post.get("username") == bot_username or post.get("post_type", 1) != 1:
        return None  # our own posts, and small actions / whispers
    command = command_text(post.get("raw"))
    if command is not None:
        fields["command"] = command
    return StoredEvent(
        event="post_created",
        # A restored forum may reuse a post id for another post; its time tells them apart.
        content_key=f"post_created:{fields['post_id']}:{fields['created_at']}",
        payload=fields,
        ordering_key=f"topic:{fields['topic_id']}",
    )


def _chat_message_created(body: dict, bot_username: str) -> StoredEvent | None:
    """A chat message: activity and commands when it is in a direct-message channel.

    Discourse sends every chat message, the bot's own included, under the event type's key
    (NOTES.md §7): {"chat_message": {"message": {...}, "channel": {...}}}. Pair spaces are
    direct-message channels; a category channel is public and never one.
    """
    wrapper = require_object(body, "chat_message")
    message, channel = require_object(wrapper, "message"), require_object(wrapper, "channel")
    if channel.get("chatable_type") != "DirectMessage":
        return None
    user = require_object(message, "user")
    if _system_user(user, "id") or user.get("username") == bot_username:
        return None  # the forum's own users and our own messages are nobody's activity
    channel_id = require_id(channel, "id", MAX_INT64)
    message_id = require_id(message, "id", MAX_INT64)
    fields: dict[str, Any] = {
        "post_id": chat_message_id(message_id),
        "topic_id": chat_thread(channel_id),
        "user_id": require_id(user, "id"),
        "created_at": require_instant(message, "created_at"),
    }
    command = command_text(message.get("message"))
    if command is not None:
        fields["command"] = command
    return StoredEvent(
        event="post_created",  # the same handler as a post: activity, then any command
        content_key=f"chat_message_created:{message_id}:{fields['created_at']}",
        payload=fields,
        ordering_key=f"topic:{fields['topic_id']}",
    )


def _group_user(event: str) -> Callable[[dict, str], StoredEvent]:
    def minimise(body: dict, bot_username: str) -> StoredEvent:
        """What the service keeps of a group_user event: the ids and when it happened."""
        gu = require_object(body, "group_user")
        fields = {"group_id": require_id(gu, "group_id"), "user_id": require_id(gu, "user_id")}
        membership = require_id(gu, "id", MAX_INT64)
        joined = require_instant(gu, "created_at")
        return StoredEvent(
            event=event,
            # The same membership row added or removed again is the same event (a retry);
            # joining again makes a new row, so a new event.
            content_key=f"{event}:{fields['group_id']}:{fields['user_id']}:{membership}:{joined}",
            payload=fields,
            ordering_key=f"user:{fields['user_id']}",
        )

    return minimise


def _user_destroyed(body: dict, bot_username: str) -> StoredEvent:
    user = require_object(body, "user")
    user_id = require_id(user, "id")
    # The account's creation time: after a restore the id may be another person's.
    created = require_instant(user, "created_at") if "created_at" in user else ""
    return StoredEvent(
        event="user_destroyed",
        content_key=f"user_destroyed:{user_id}:{created}",
        payload={"user_id": user_id},
        ordering_key=f"user:{user_id}",
    )


DISPATCH: dict[str, Callable[[dict, str], StoredEvent | None]] = {
    "post_created": _post_created,
    "user_added_to_group": _group_user("user_added_to_group"),
    "user_removed_from_group": _group_user("user_removed_from_group"),
    "user_destroyed": _user_destroyed,
    "chat_message_created": _chat_message_created,
}

# Core events we know and deliberately do not use (docs/forums/discourse.md §2):
# acknowledged, not stored.
IGNORED = frozenset(
    """ping topic_created topic_revised topic_edited topic_destroyed topic_recovered
    post_edited post_destroyed post_recovered user_logged_in user_logged_out
    user_confirmed_email user_created user_approved user_updated user_suspended
    user_unsuspended group_created group_updated group_destroyed category_created
    category_updated category_destroyed tag_created tag_updated tag_destroyed
    reviewable_created reviewable_updated reviewable_score_updated reviewable_transitioned_to
    notification_created user_badge_granted user_badge_revoked post_liked user_promoted
    accepted_solution unaccepted_solution assigned unassigned topic_upvote topic_unvote
    chat_message_edited chat_message_trashed chat_message_restored""".split()
)


def minimise(event: str, body: dict, bot_username: str) -> StoredEvent | None:
    """The stored form of an event, or None to acknowledge and drop it."""
    handler = DISPATCH.get(event)
    return handler(body, bot_username) if handler else None
