"""JSON shapes of the fake Discourse's chat answers and chat_message webhook bodies.

Written from the chat plugin's serializers (discourse/discourse, as the index stores them):
Chat::MessageSerializer @ 844e065e (BASIC_ATTRIBUTES, user, mentioned_users, available_flags,
blocks, chat_webhook_event, uploads; the conditional keys are left out as for a plain message),
Chat::MessageUserSerializer @ 13336ec8, Chat::LastMessageSerializer @ 077bf13f,
Chat::ChannelSerializer @ 8fe801fe, Chat::DirectMessageSerializer @ 68ce2145 (the viewer is
left out of the users when there are others), Chat::BaseChannelMembershipSerializer @ 216662eb,
Chat::MessagesSerializer @ c5bfcc4d, and the webhook payload of plugins/chat/plugin.rb
(index id 184922839): {message, channel}, both serialized with the AUTHOR's guardian and the
channel with the author's membership. Core's Jobs::EmitWebHookEvent#build_webhook_body
(app/jobs/regular/emit_web_hook_event.rb @ d02543f9) puts it under the event type's key:
{"chat_message": {...}}. Keys were checked against plugins/chat/spec/requests/
outgoing_chat_webhooks_spec.rb (index id 2061047849).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from tests.fakes.discourse_chat_state import (
    ChatState,
    FakeChatChannel,
    FakeChatMessage,
    can_chat,
)
from tests.fakes.discourse_shapes import basic_user
from tests.fakes.discourse_state import FakeUser, ForumState, iso

EXCERPT_LENGTH = 150  # Chat::Message::EXCERPT_LENGTH
# PostActionType.flag_types a member may raise on someone else's message in a DM channel
# (notify_user and notify_moderators are left out there); order approximated.
DM_FLAGS = ["off_topic", "inappropriate", "spam", "illegal"]
WORD_CONNECTOR = ", "  # I18n word_connector.comma, joining a DM's usernames in its title


def iso8601(timestamp: float) -> str:
    """Ruby's Time#iso8601 in UTC, as the message serializers write created_at: no fraction."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def excerpt(cooked: str) -> str:
    """PrettyText.excerpt(cooked, 150), approximated: the text without tags, cut with "…"."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", cooked))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "…"


def message_user(user: FakeUser) -> dict[str, Any]:
    """Chat::MessageUserSerializer: BasicUser plus the staff flags, new_user, primary group."""
    return {
        **basic_user(user),
        "moderator": user.moderator,
        "admin": user.admin,
        "staff": user.staff,
        "new_user": user.trust_level == 0,
        "primary_group_name": None,
    }


def _basic_attributes(message: FakeChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "message": message.message,
        "cooked": message.cooked,
        "created_at": iso8601(message.created_at),
        "excerpt": excerpt(message.cooked),
    }


def message_json(forum: ForumState, message: FakeChatMessage, viewer: FakeUser) -> dict[str, Any]:
    """Chat::MessageSerializer for `viewer`, for a message without replies, threads or uploads."""
    own = message.user_id == viewer.id
    return {
        **_basic_attributes(message),
        "chat_channel_id": message.channel_id,
        "streaming": False,
        "user": message_user(forum.users[message.user_id]),
        "mentioned_users": [],
        "available_flags": [] if own or not can_chat(viewer) else list(DM_FLAGS),
        "blocks": [],
        "chat_webhook_event": None,
        "uploads": [],
    }


def last_message_json(message: FakeChatMessage) -> dict[str, Any]:
    """Chat::LastMessageSerializer: every BASIC_ATTRIBUTE, unconditionally."""
    return {
        **_basic_attributes(message),
        "deleted_at": None,
        "deleted_by_id": None,
        "thread_id": None,
        "chat_channel_id": message.channel_id,
        "streaming": False,
    }


def chatable_user(user: FakeUser) -> dict[str, Any]:
    """UserWithCustomFieldsAndStatusSerializer plus the chat plugin's can_chat/has_chat_enabled."""
    return {**basic_user(user), "can_chat": can_chat(user), "has_chat_enabled": user.chat_enabled}


def title(forum: ForumState, channel: FakeChatChannel, viewer: FakeUser) -> str:
    """Chat::DirectMessage#chat_channel_title_for_user: the name, else the others' usernames."""
    if channel.name:
        return channel.name
    others = [forum.users[i] for i in channel.user_ids if i != viewer.id and i > 0]
    if not others:
        return viewer.username  # a direct message to oneself
    return WORD_CONNECTOR.join(sorted(u.username for u in others))


def membership_json(channel: FakeChatChannel, user: FakeUser) -> dict[str, Any]:
    """Chat::BaseChannelMembershipSerializer of a DM member (notification level "always")."""
    return {
        "following": user.id in channel.following,
        "muted": False,
        "notification_level": "always",
        "chat_channel_id": channel.id,
        "last_read_message_id": channel.last_read.get(user.id),
        "last_viewed_at": iso(channel.created_at),
    }


def _meta(channel: FakeChatChannel, viewer: FakeUser) -> dict[str, Any]:
    able = can_chat(viewer) and channel.has_member(viewer)
    return {
        "message_bus_last_ids": {
            "channel_message_bus_last_id": len(channel.message_ids),
            "new_messages": len(channel.message_ids),
            "new_mentions": 0,
        },
        "can_join_chat_channel": able,
        "can_flag": able,
        "user_silenced": False,
        "can_moderate": viewer.staff,
        "can_delete_self": True,
        "can_delete_others": viewer.staff,
    }


def channel_json(
    forum: ForumState,
    chat: ChatState,
    channel: FakeChatChannel,
    viewer: FakeUser,
    *,
    with_membership: bool = False,
) -> dict[str, Any]:
    """Chat::ChannelSerializer of a DM channel for `viewer`; the viewer's membership only when
    the caller passes it (the webhook does, DirectMessagesController#create does not)."""
    users = [forum.users[i] for i in channel.user_ids]
    if len(users) > 1:
        users = [u for u in users if u.id != viewer.id]
    name = title(forum, channel, viewer)
    body: dict[str, Any] = {
        "id": channel.id,
        "allow_channel_wide_mentions": True,
        "chatable": {"id": channel.direct_message_id, "users": [chatable_user(u) for u in users]},
        "chatable_id": channel.direct_message_id,
        "chatable_type": channel.chatable_type,
        "chatable_url": None,
        "title": name,
        "unicode_title": name,
        "slug": None,
        "status": "open",
        "memberships_count": len(channel.user_ids),
    }
    if with_membership and channel.has_member(viewer):
        body["current_user_membership"] = membership_json(channel, viewer)
    last = chat.messages.get(channel.message_ids[-1]) if channel.message_ids else None
    body.update(
        meta=_meta(channel, viewer),
        threading_enabled=False,
        icon_upload_url=None,
        last_message=None if last is None else last_message_json(last),
    )
    return body


def webhook_body(forum: ForumState, chat: ChatState, message: FakeChatMessage) -> dict[str, Any]:
    """The chat_message webhook body Discourse sends for this message, as its author sees it."""
    author = forum.users[message.user_id]
    channel = chat.channels[message.channel_id]
    return {
        "chat_message": {
            "message": message_json(forum, message, author),
            "channel": channel_json(forum, chat, channel, author, with_membership=True),
        }
    }
