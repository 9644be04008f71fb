"""What Discourse webhooks mean to us: a dispatch table from event name to a minimiser.

A minimiser checks that the payload has what its event needs (else BadPayload: 400) and
returns only the fields the service uses (StoredEvent), or None when the event is
acknowledged and dropped. Post text is dropped here, before anything is written, unless
the post is a command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from plugin.inbox import StoredEvent
from plugin.payloads import MAX_COMMAND_TEXT, require_int, require_object, require_str

COMMAND = re.compile(r"^\s*!([A-Za-z][A-Za-z_-]*)")


def command_text(raw: Any) -> str | None:
    """The post's text if it is a command (`!word ...`), else None."""
    if isinstance(raw, str) and COMMAND.match(raw):
        return raw.strip()[:MAX_COMMAND_TEXT]
    return None


def _post_created(body: dict, bot_username: str) -> StoredEvent | None:
    post = require_object(body, "post")
    fields = {
        "post_id": require_int(post, "id"),
        "topic_id": require_int(post, "topic_id"),
        "user_id": require_int(post, "user_id"),
        "created_at": require_str(post, "created_at"),
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
        content_key=f"post_created:{fields['post_id']}",
        payload=fields,
        ordering_key=f"topic:{fields['topic_id']}",
    )


def _group_user(event: str) -> Callable[[dict, str], StoredEvent]:
    def minimise(body: dict, bot_username: str) -> StoredEvent:
        gu = require_object(body, "group_user")
        fields = {"group_id": require_int(gu, "group_id"), "user_id": require_int(gu, "user_id")}
        membership = gu.get("id") if isinstance(gu.get("id"), int) else ""
        return StoredEvent(
            event=event,
            # The same membership row added or removed again is the same event (a retry).
            content_key=f"{event}:{fields['group_id']}:{fields['user_id']}:{membership}:"
            f"{gu.get('created_at', '')}",
            payload=fields,
            ordering_key=f"user:{fields['user_id']}",
        )

    return minimise


def _user_destroyed(body: dict, bot_username: str) -> StoredEvent:
    user_id = require_int(require_object(body, "user"), "id")
    return StoredEvent(
        event="user_destroyed",
        content_key=f"user_destroyed:{user_id}",
        payload={"user_id": user_id},
        ordering_key=f"user:{user_id}",
    )


DISPATCH: dict[str, Callable[[dict, str], StoredEvent | None]] = {
    "post_created": _post_created,
    "user_added_to_group": _group_user("user_added_to_group"),
    "user_removed_from_group": _group_user("user_removed_from_group"),
    "user_destroyed": _user_destroyed,
}

# Core events we know and deliberately do not use (NOTES.md §2): acknowledged, not stored.
IGNORED = frozenset(
    """ping topic_created topic_revised topic_edited topic_destroyed topic_recovered
    post_edited post_destroyed post_recovered user_logged_in user_logged_out
    user_confirmed_email user_created user_approved user_updated user_suspended
    user_unsuspended group_created group_updated group_destroyed category_created
    category_updated category_destroyed tag_created tag_updated tag_destroyed
    reviewable_created reviewable_updated reviewable_score_updated reviewable_transitioned_to
    notification_created user_badge_granted user_badge_revoked post_liked user_promoted
    accepted_solution unaccepted_solution assigned unassigned topic_upvote topic_unvote
    chat_message_created chat_message_edited chat_message_trashed chat_message_restored""".split()
)


def minimise(event: str, body: dict, bot_username: str) -> StoredEvent | None:
    """The stored form of an event, or None to acknowledge and drop it."""
    handler = DISPATCH.get(event)
    return handler(body, bot_username) if handler else None
