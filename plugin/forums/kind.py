"""The record each forum kind fills in: what the core may ask of a forum without naming it.

plugin/discourse/kind.py and plugin/zulip/kind.py each make one; plugin/forums/registry.py
holds them by name.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from plugin.engine.adapter import ForumAdapter, Gate
from plugin.engine.outbox import Kind
from plugin.storage.models import Base, Forum
from plugin.storage.states import Space

# The outbox kind that flags a member's post for the forum's moderators (its review queue),
# as the member, with a text: payload {"post_id", "username", "text", "thread"}.
REVIEW_FLAG = "flag_for_review"


class SignInRefused(ValueError):
    """The forum's answer to a sign-in cannot be trusted or used; the message says why."""


@dataclass(frozen=True)
class SignedIn:
    """Who the forum says signed in to the admin pages, in the core's terms."""

    nonce: str
    username: str
    user_id: int | None  # None: the answer names no member's user id
    is_forum_admin: bool
    is_forum_staff: bool


@dataclass(frozen=True)
class ForumSignIn:
    """The forum as the admin pages' identity provider: a signed request, a signed answer."""

    # Where to send the browser: (forum URL, the forum's sign-in secret, nonce, return URL).
    request_url: Callable[[str, str, str, str], str]
    # Check the answer's query arguments against the secret; raises SignInRefused.
    verify: Callable[[str, Mapping[str, str]], SignedIn]
    # Why a forum of this kind without a sign-in secret cannot sign anyone in yet.
    no_secret: str


class Severity(enum.Enum):
    """How the connection check's finding is met: by the operator, by waiting, or noted."""

    SETTINGS = "settings"  # the forum refused what it was given (key, bot user): fix it
    UNANSWERED = "unanswered"  # the forum did not answer (network, timeout, 5xx): try later
    # The connection works, but some feature will not (e.g. the key cannot act as members):
    # said to the operator, never a reason to refuse the forum or to call it not ok.
    NOTICE = "notice"


@dataclass(frozen=True)
class Problem:
    """One thing the connection check found, in one line and the forum's own terms."""

    severity: Severity
    text: str


# Ask the forum whether a forum row's URL, API key and bot user work for the service:
# fn(forum, allowed_hosts) -> problems (notices among them), [] when all is well. It may
# raise ForumError for answers it does not explain itself; plugin/forums/connections.py words
# those generically.
ConnectionCheck = Callable[[Forum, frozenset[str]], list[Problem]]


def _as_is(body: dict) -> dict:
    """The error body unchanged: most forums take any JSON."""
    return body


@dataclass(frozen=True)
class ForumKind:
    """Everything true of one kind of forum that the core needs."""

    name: str
    # The API adapter for a forum row of this kind, every request passing through `gate`
    # and connecting only where the forum URL rule allows (allowed_hosts: netguard).
    client: Callable[[Forum, Gate, frozenset[str]], ForumAdapter]
    # A member named so that the forum notifies them: (username, display name, user id).
    mention: Callable[[str | None, str | None, int], str]
    # What is true of the pair's private thread on this forum, said in its first post: one
    # sentence per language of plugin.i18n.LANGUAGES (tests/forums/test_wording.py checks).
    privacy: Mapping[str, str]
    # Why a webhook secret cannot be used on this forum (the CLI's wording), or None.
    secret_problem: Callable[[str], str | None]
    # The thread name of the member's one-to-one conversation with the bot, by their user id,
    # where the forum can tell one (Zulip); None where it cannot (Discourse).
    direct_thread: Callable[[int], str] | None = None
    # The web address of a pair's thread for a browser: (forum URL, stored thread name) -> URL,
    # or None when the name is not one this forum makes (the admin pages then show no link).
    thread_url: Callable[[str, str], str | None] | None = None
    # Who can read a thread at that address, where not every admin can (shown beside the links).
    thread_url_note: str = ""
    # Whether `!admin` answers with a single-use sign-in link (only in a one-to-one thread),
    # rather than pointing to the forum's own sign-in to the admin pages (DiscourseConnect).
    admin_link_in_chat: bool = False
    # Which `program create` option names the public place of `!ask` on this forum: the
    # Program column it fills (`public_category`, `public_stream`); "" where there is none.
    public_place: str = ""
    # `mentorship forum add` options of this kind alone, (flag, help), in the help's order,
    # and which of them give the bot user and the webhook secret (argparse dest names).
    cli_options: tuple[tuple[str, str], ...] = ()
    bot_option: str = ""
    secret_option: str = ""
    # Worker jobs of this forum alone, beside the domain's: fn(factory, adapter_for, clock,
    # config) -> number of things done.
    periodic: tuple[Callable[..., int], ...] = ()
    # Long-running listeners that only a worker running forever starts, each in a daemon
    # thread: fn(factory, clock, config, stopping) -> None.
    listeners: tuple[Callable[..., None], ...] = ()
    # How admins sign in to the admin pages through the forum (None: it cannot redirect), and
    # what to tell someone who tries it on a forum that cannot.
    sign_in: ForumSignIn | None = None
    sign_in_elsewhere: str = ""
    # manifest.json setting -> Forum column, for the forum settings page.
    settings_columns: Mapping[str, str] = field(default_factory=dict)
    # The error body of a receiver's 503 (a stored secret unreadable), in a shape the forum
    # accepts: fn(body) -> body.
    unavailable_body: Callable[[dict], dict] = _as_is
    # The module of this forum's webhook receiver, whose `bp` the web app registers (a
    # shell: named, not imported, so that this layer stays below the shells).
    receiver: str = ""
    # Tables of this forum alone, declared on storage's Base: naming them here means that
    # importing the registry completes the metadata (plugin/forums/tables.py).
    tables: tuple[type[Base], ...] = ()
    # The README section that connects a forum of this kind, named in `mentorship --help`.
    guide: str = ""
    # The connection check of `forum add` and `forum check` (None: nothing to check).
    check: ConnectionCheck | None = None
    # Outbox kinds of this forum alone (kind name -> Kind), beside the domain's.
    outbox_kinds: Mapping[str, Kind] = field(default_factory=dict)
    # Where the forum offers pairs a chat channel (`program create --space chat`): what is
    # true of it, said in its first message, per language as `privacy`. Empty: no chat space.
    chat_privacy: Mapping[str, str] = field(default_factory=dict)
    # What the admin pages call each pair space this forum offers, in its own terms, per
    # language as `privacy`: the words complete "Pairs talk in …" ("Paare schreiben sich in …",
    # so German takes the dative), e.g. "private messages", "a chat channel".
    space_words: Mapping[Space, Mapping[str, str]] = field(default_factory=dict)
    # Whether a post in this thread may be flagged into the review queue: a thread name the
    # forum's own flags cannot reach (a chat channel) says no.
    flaggable: Callable[[str], bool] = lambda thread: True

    @property
    def review_queue(self) -> bool:
        """Whether a report's post can be flagged into the forum's own review queue."""
        return REVIEW_FLAG in self.outbox_kinds
