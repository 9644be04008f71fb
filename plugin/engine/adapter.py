"""What the core needs from a forum, whichever forum it is, and the errors it may raise.

Program, sign-up, pairing and step logic talk to this interface only; each forum's
adapter lives in its own folder (plugin/discourse/, plugin/zulip/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ForumUser:
    """A member as the forum reports them."""

    id: int
    username: str  # Discourse username; Zulip email
    name: str | None = None
    admin: bool = False
    moderator: bool = False
    timezone: str | None = None
    # The language the account names, as the forum spells it (`de`, `pt_BR`), when the forum
    # tells: Discourse's user locale (only where the site allows user locales).
    locale: str | None = None
    # Whether the answer said the account's language at all (then a None locale means none
    # of its own). Group listings do not say, and must not make us forget what we know.
    locale_known: bool = False


@dataclass(frozen=True)
class ForumGroup:
    """A Discourse group or a Zulip user group."""

    id: int
    name: str


@dataclass(frozen=True)
class SentPost:
    """Where a post we made landed: its thread and its own id."""

    thread: str
    post_id: str


@dataclass(frozen=True)
class Expertise:
    """What the forum's own record says a member knows: where they post, what it earned."""

    # (category name, the member's posts in it), the forum's busiest first.
    top_categories: tuple[tuple[str, int], ...]
    likes_received: int
    accepted_answers: int | None = None  # None: the forum does not count accepted answers


@dataclass(frozen=True)
class PublicQuestion:
    """A member's question for the program's public place (`!ask`)."""

    author: str  # the member's username (Discourse) or email (Zulip)
    title: str  # at least 15 characters (Discourse's default minimum), at most 60 (Zulip's)
    text: str  # the member's own words, unchanged
    intro: str  # a line naming the member, where the bot posts for them (Zulip)


class ForumError(Exception):
    """A forum answered with an error; `errors` carries the forum's own messages."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, errors: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


class ForumAuthError(ForumError):
    """The API key or bot user was refused (Discourse 403 invalid_access)."""


class ForumNotFound(ForumError):
    """The user, group or thread does not exist (404)."""

    retryable = False


class ForumRejected(ForumError):
    """The forum refused the request as invalid (400/422): sending it again will not help."""

    retryable = False


class AlreadyInGroup(ForumRejected):
    """The member is already in the group they were to be added to."""


class BotRefused(ForumRejected):
    """The forum lets no bot make this change (Zulip's group membership before 12.0, or a
    group whose settings leave the bot out): a person has to do it."""


class Undeliverable(ForumError):
    """Our own state makes this call impossible (e.g. its thread was never opened)."""

    retryable = False


class ForumRateLimited(ForumError):
    """429: wait `retry_after` seconds before calling this forum again."""

    def __init__(self, message: str, *, retry_after: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ForumUnavailable(ForumError):
    """5xx, timeout or no connection: for a write, it may or may not have happened."""


def error_for_status(message: str, status: int, errors: list[str]) -> ForumError:
    """The typed error for an HTTP error status, once 429 and forum-specific codes are out."""
    if status in (401, 403):
        return ForumAuthError(message, status=status, errors=errors)
    if status == 404:
        return ForumNotFound(message, status=status, errors=errors)
    if status in (400, 409, 413, 422):
        return ForumRejected(message, status=status, errors=errors)
    if status >= 500:
        return ForumUnavailable(message, status=status, errors=errors)
    return ForumError(message, status=status, errors=errors)


def redirect_refused(
    forum: str, method: str, path: str, location: str, status: int
) -> ForumRejected:
    """A redirect, never followed (e.g. http:// to https://): the forum's URL needs fixing."""
    return ForumRejected(
        f"{forum} redirected {method} {path} to {location}: check the forum's URL", status=status
    )


@dataclass
class BudgetExhausted(Exception):
    """The shared request budget has no slot before `retry_at` (nothing was sent)."""

    retry_at: datetime
    args: tuple = field(default=(), repr=False)


Gate = Callable[[], None]  # called before every request; raises BudgetExhausted


class ForumAdapter(Protocol):
    """The calls the product makes; `marker` makes a post findable after a crash."""

    def open_thread(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """Start a private thread with exactly these members and the bot."""

    def open_chat(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """Start a chat channel with exactly these members and the bot (where the forum's kind
        offers a chat space); its thread then takes post() and find_post() like any other."""

    def find_chat(self, title: str, usernames: list[str], marker: str) -> SentPost | None:
        """The chat channel an earlier open_chat with this marker opened, if any."""

    def check_chat(self) -> None:
        """Raise ForumError when the bot cannot open chat spaces on this forum."""

    def post(self, thread: str, text: str, marker: str) -> SentPost:
        """Post in an existing thread."""

    def find_thread(self, marker: str) -> SentPost | None:
        """The thread an earlier open_thread with this marker created, if any."""

    def find_post(self, thread: str, marker: str) -> SentPost | None:
        """The post an earlier post() with this marker created, if any."""

    def ask_publicly(self, place: str, question: PublicQuestion, marker: str) -> SentPost:
        """Post a question in a public place; the answer's `thread` is its web address."""

    def check_public_place(self, place: str) -> None:
        """Raise ForumError when the bot cannot find or use this public place."""

    def find_public(self, place: str, question: PublicQuestion, marker: str) -> SentPost | None:
        """The public post an earlier ask_publicly() with this marker made, if any."""

    def get_user(self, username: str) -> ForumUser:
        """The forum user with this username."""

    def get_user_by_id(self, user_id: int) -> ForumUser:
        """The forum user with this id."""

    def get_group(self, name: str) -> ForumGroup:
        """The forum group with this name."""

    def get_group_by_id(self, group_id: int) -> ForumGroup:
        """The forum group with this id."""

    def group_members(self, name: str) -> Iterator[ForumUser]:
        """Every member of the named group."""

    def list_admins(self) -> list[ForumUser]:
        """The forum's admins."""

    def default_language(self) -> str | None:
        """The forum's own default language code as it spells it (`de`, `en_GB`), if it says."""

    def expertise(self, username: str) -> Expertise | None:
        """The forum's record of the member's activity, or None where the forum keeps none."""

    def add_to_group(self, group_id: int, user: ForumUser) -> None:
        """Add the user to the group; AlreadyInGroup or BotRefused when the forum says so."""
