"""Chat state of the fake Discourse: direct-message channels, their members and messages.

Kept apart from discourse_state (topics and posts). Rules here come from the chat plugin's
source (discourse/discourse, see discourse_chat's docstring for files and commits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.fakes.discourse_state import FakeUser

# SiteSetting defaults, plugins/chat/config/settings.yml @ 8f4ce598.
MAXIMUM_MESSAGE_LENGTH = 6000  # chat_maximum_message_length
MAX_DIRECT_MESSAGE_USERS = 20  # chat_max_direct_message_users (staff are exempt)
CHAT_TRUST_LEVEL = 1  # chat_allowed_groups "1|2|11" and direct_message_enabled_groups "11"
DUPLICATE_WINDOW = 10.0  # seconds; Chat::DuplicateMessageValidator: created_at: 10.seconds.ago..
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\ufeff]")


@dataclass
class FakeChatMessage:
    """One chat message: `message` is the raw text as the service stored it."""

    id: int
    channel_id: int
    user_id: int
    message: str
    cooked: str
    created_at: float  # seconds since the epoch, from the fake's clock

    @property
    def raw(self) -> str:
        """The text as written (Discourse's `message` field), named like a post's raw."""
        return self.message


@dataclass
class FakeChatChannel:
    """A direct-message channel (Chat::DirectMessageChannel and its Chat::DirectMessage)."""

    id: int
    direct_message_id: int  # the chatable's id
    user_ids: list[int]  # direct_message_users = the members, ascending ids
    group: bool  # more than two users, or named
    name: str | None
    created_at: float
    message_ids: list[int] = field(default_factory=list)
    following: set[int] = field(default_factory=set)  # members who have posted
    last_read: dict[int, int] = field(default_factory=dict)  # user id -> message id

    chatable_type = "DirectMessage"

    def has_member(self, user: FakeUser) -> bool:
        """Chat::DirectMessage#user_can_access?: only its users, admins included, may read."""
        return user.id in self.user_ids


@dataclass
class ChatSettings:
    """The chat site settings the fake honours."""

    enabled: bool = True  # chat_enabled: off, every chat route is 404
    maximum_message_length: int = MAXIMUM_MESSAGE_LENGTH
    max_direct_message_users: int = MAX_DIRECT_MESSAGE_USERS


@dataclass
class ChatState:
    """Every chat channel and message of the fake forum."""

    settings: ChatSettings = field(default_factory=ChatSettings)
    channels: dict[int, FakeChatChannel] = field(default_factory=dict)
    messages: dict[int, FakeChatMessage] = field(default_factory=dict)
    # Users who accept no direct messages (user_option.allow_private_messages false).
    refusing_dms: set[int] = field(default_factory=set)
    _last_id: dict[str, int] = field(default_factory=lambda: {"channel": 0, "dm": 0, "msg": 0})

    def _next(self, kind: str) -> int:
        self._last_id[kind] += 1
        return self._last_id[kind]

    def find_direct_message(self, user_ids: list[int], group: bool) -> FakeChatChannel | None:
        """Chat::DirectMessage.for_user_ids: the first channel with exactly these users."""
        wanted = sorted(set(user_ids))
        return next(
            (c for c in self.channels.values() if c.user_ids == wanted and c.group == group),
            None,
        )

    def new_direct_message(
        self, user_ids: list[int], group: bool, name: str | None, now: float
    ) -> FakeChatChannel:
        """A new Chat::DirectMessage and its channel, every user a member."""
        channel = FakeChatChannel(
            self._next("channel"), self._next("dm"), sorted(set(user_ids)), group, name, now
        )
        self.channels[channel.id] = channel
        return channel

    def add_message(
        self, channel: FakeChatChannel, user: FakeUser, text: str, cooked: str, now: float
    ) -> FakeChatMessage:
        """Store a message; the author now follows the channel and has read up to it."""
        message = FakeChatMessage(self._next("msg"), channel.id, user.id, text, cooked, now)
        self.messages[message.id] = message
        channel.message_ids.append(message.id)
        channel.following.add(user.id)
        channel.last_read[user.id] = message.id
        return message

    def messages_in(self, channel: FakeChatChannel) -> list[FakeChatMessage]:
        """The channel's messages, oldest first (created_at, then id, as MessagesQuery orders)."""
        found = [self.messages[i] for i in channel.message_ids]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def is_duplicate(self, channel: FakeChatChannel, user: FakeUser, text: str, now: float) -> bool:
        """Chat::DuplicateMessageValidator: the same text (case-insensitive) from the same user
        in the last 10 seconds, in any channel but a DM of at most two users."""
        if len(channel.user_ids) <= 2 or user.id <= 0:  # user.bot? means a negative id
            return False
        wanted = text.strip().lower()
        return any(
            m.user_id == user.id
            and m.message.lower() == wanted
            and m.created_at >= now - DUPLICATE_WINDOW
            for m in self.messages_in(channel)
        )


def can_chat(user: FakeUser) -> bool:
    """Guardian#can_chat?: bots, or the chat_allowed_groups (admins, moderators, trust level 1+)."""
    return user.id <= 0 or user.staff or user.trust_level >= CHAT_TRUST_LEVEL


def can_create_direct_message(user: FakeUser) -> bool:
    """Guardian#can_create_direct_message?: staff, or direct_message_enabled_groups (TL1+)."""
    return user.staff or user.trust_level >= CHAT_TRUST_LEVEL


def clean(text: str) -> str:
    """TextCleaner.clean(strip_whitespaces: true, strip_zero_width_spaces: true), approximated:
    zero-width characters removed, the ends stripped."""
    return ZERO_WIDTH.sub("", text).strip()
