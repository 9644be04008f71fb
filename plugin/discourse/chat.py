"""Discourse chat as a pair's space: a direct-message channel holding the pair and the bot.

Discourse's openapi.json does not list the chat API. These calls follow the chat plugin's own
controllers and services (NOTES.md §7, read from discourse/discourse plugins/chat):

- `POST /chat/api/direct-message-channels.json` (Chat::Api::DirectMessagesController#create,
  services/chat/create_direct_message_channel.rb): `target_usernames`; the caller, the bot,
  is always a member. Three users make a group channel, a new one on every call unless
  `upsert` is set, which returns the channel these exact users already share. We always
  upsert, so opening again after an uncertain answer finds the same channel, not a second.
- `POST /chat/{channel_id}.json` with `message`: `{"success": "OK", "message_id": N}`.
- `GET /chat/api/channels/{channel_id}/messages` with `page_size` (at most 50): the
  channel's latest messages, raw `message` included, so an uncertain message can be looked
  for before it is sent again.

Chat escapes raw HTML (its Markdown rules have no `html_block`), so the invisible comment a
post carries would show as text; a chat message carries a short reference line instead, as
on Zulip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.engine.adapter import (
    ForumAuthError,
    ForumNotFound,
    ForumRejected,
    ForumUnavailable,
    SentPost,
    Undeliverable,
)

PREFIX = "chat:"  # a chat channel's thread name, beside a private message's topic id
RECENT_MESSAGES = 50  # the read-back's page size: Discourse's maximum
MAX_NAME = 100  # a channel's name is only a label in the sidebar: keep it short

Call = Callable[..., Any]  # DiscourseClient._json: (method, path, **requests kwargs) -> body


def chat_thread(channel_id: int) -> str:
    """The thread name of a chat channel (Pair.thread, the receiver's topic_id)."""
    return f"{PREFIX}{int(channel_id)}"


def chat_message_id(message_id: int) -> str:
    """A chat message's id as the service keeps it: never equal to a post's id."""
    return f"chat-{int(message_id)}"


def chat_channel(thread: str) -> int | None:
    """The channel id of a chat thread name, or None for any other thread (a topic id)."""
    if not thread.startswith(PREFIX):
        return None
    digits = thread[len(PREFIX) :]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def marker_line(marker: str) -> str:
    """The line a chat message carries so that we can find it again (see the docstring)."""
    return f"*ref mentorship:{marker}*"


def _channel_of(thread: str) -> int:
    channel = chat_channel(thread)
    if channel is None:
        raise Undeliverable(f"{thread!r} is not a chat channel")
    return channel


class Chat:
    """The chat calls of one Discourse client, made through its transport (`call`)."""

    def __init__(self, call: Call, bot_username: str) -> None:
        self._call = call
        self._bot = bot_username

    def check(self) -> None:
        """ForumRejected, in the forum's terms, when the bot cannot chat here.

        One read of the public channels (Chat::Api::ChannelsController#index): the chat
        plugin answers 404 when chat is off (requires_plugin) and 403 when the caller may not
        chat (Chat::BaseController#ensure_can_chat), before anything else.
        """
        try:
            self._call("GET", "/chat/api/channels.json", params={"limit": 1})
        except ForumNotFound:
            raise ForumRejected(
                "chat is off on this forum: turn on the site setting chat_enabled"
            ) from None
        except ForumAuthError:
            raise ForumRejected(
                f"{self._bot} may not chat: add it to the site settings chat_allowed_groups "
                "and direct_message_enabled_groups, and turn chat on in its preferences"
            ) from None

    def open(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """The pair's channel (made, or the one they share with the bot), opened with `text`."""
        return self.post(chat_thread(self._channel(title, usernames)), text, marker)

    def find_open(self, title: str, usernames: list[str], marker: str) -> SentPost | None:
        """The opening message an earlier open() with this marker sent, if it landed."""
        # Upsert again: the channel an uncertain open() made, never a second one.
        return self.find(chat_thread(self._channel(title, usernames)), marker)

    def post(self, thread: str, text: str, marker: str) -> SentPost:
        """A message in the channel, carrying its marker line."""
        try:
            body = self._call(
                "POST",
                f"/chat/{_channel_of(thread)}.json",
                json={"message": f"{text}\n\n{marker_line(marker)}"},
            )
        except ForumRejected as exc:
            # Discourse refuses the same text from the same user within 10 seconds in a
            # group channel (validators/chat/duplicate_message_validator.rb): a resend
            # after an answer that was lost. Ours carry a marker, so look for the first.
            if not any("identical message" in e for e in exc.errors):
                raise
            found = self.find(thread, marker)
            if found is None:
                raise ForumUnavailable(str(exc), status=exc.status, errors=exc.errors) from None
            return found
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if not isinstance(message_id, int):
            raise ForumUnavailable("Discourse's chat answer had no message_id")
        return SentPost(thread=thread, post_id=chat_message_id(message_id))

    def find(self, thread: str, marker: str) -> SentPost | None:
        """The bot's message carrying this marker among the channel's latest, if any."""
        body = self._call(
            "GET",
            f"/chat/api/channels/{_channel_of(thread)}/messages",
            params={"page_size": RECENT_MESSAGES, "direction": "past"},
        )
        messages = body.get("messages") if isinstance(body, dict) else None
        line = marker_line(marker)
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict) or not isinstance(message.get("id"), int):
                continue
            author = (message.get("user") or {}).get("username")
            if author == self._bot and line in str(message.get("message") or ""):
                return SentPost(thread=thread, post_id=chat_message_id(message["id"]))
        return None

    def _channel(self, title: str, usernames: list[str]) -> int:
        body = self._call(
            "POST",
            "/chat/api/direct-message-channels.json",
            json={"target_usernames": usernames, "upsert": True, "name": title[:MAX_NAME]},
        )
        channel = body.get("channel") if isinstance(body, dict) else None
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not isinstance(channel, dict) or not isinstance(channel_id, int):
            raise ForumUnavailable("Discourse's chat answer had no channel id")
        _check_members(channel, usernames)
        return channel_id


def _check_members(channel: dict, usernames: list[str]) -> None:
    """Refuse a channel that leaves one of the pair out.

    Discourse silently drops a username it cannot find or whose user cannot chat
    (queries/chat/users_from_usernames_and_groups_query.rb), and would make the channel
    without them: the pair would never meet there.
    """
    users = (channel.get("chatable") or {}).get("users")
    present = {str(u.get("username", "")).lower() for u in users or [] if isinstance(u, dict)}
    missing = [name for name in usernames if name.lower() not in present]
    if missing:
        raise ForumRejected(
            f"Discourse left {', '.join(missing)} out of the pair's chat channel: "
            "they cannot chat (chat off for them, or the username changed)"
        )
