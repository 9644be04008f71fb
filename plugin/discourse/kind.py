"""Discourse as a forum kind: its client, its mention syntax, its privacy sentence."""

from __future__ import annotations

from plugin.discourse import connect, flags
from plugin.discourse.client import DiscourseClient, chat_channel
from plugin.engine.adapter import ForumAuthError, ForumError, ForumNotFound, Gate
from plugin.forums.kind import REVIEW_FLAG, ForumKind, ForumSignIn, Problem, Severity
from plugin.storage.models import Forum
from plugin.storage.states import Space


def client(forum: Forum, gate: Gate, allowed_hosts: frozenset[str]) -> DiscourseClient:
    """The API client for a Discourse forum row."""
    return DiscourseClient(
        forum.url, forum.api_key, forum.bot_user, gate=gate, allowed_hosts=allowed_hosts
    )


def mention(username: str | None, name: str | None, user_id: int) -> str:
    """@username notifies a Discourse user."""
    return f"@{username}"


def thread_url(forum_url: str, thread: str) -> str | None:
    """A pair's space in the browser: /t/{topic_id} (Discourse adds the slug) for a private
    message, /chat/c/-/{channel_id} for a chat channel (the chat plugin's own route)."""
    channel = chat_channel(thread)
    if channel is not None:
        return f"{forum_url.rstrip('/')}/chat/c/-/{channel}"
    if not (thread.isascii() and thread.isdigit()):
        return None  # we store the topic id the API gave; anything else is not a topic
    return f"{forum_url.rstrip('/')}/t/{thread}"


def secret_problem(secret: str) -> str | None:
    """Discourse refuses webhook secrets shorter than 12 characters (app/models/web_hook.rb)."""
    if len(secret) < 12:
        return "--webhook-secret must be at least 12 characters (Discourse's minimum)"
    return None


def _reason(exc: ForumError) -> str:
    """The forum's own words for a refusal, e.g. "403: You are not permitted ..."."""
    return f"{exc.status}: {'; '.join(exc.errors)}" if exc.errors else str(exc.status)


def check(forum: Forum, allowed_hosts: frozenset[str]) -> list[Problem]:
    """The API key works for the bot user, who is staff (private messages to anyone need it).

    One GET /u/{username}.json, which the service calls anyway: it carries admin/moderator.
    Then a notice, never a refusal, when the key is not for all users (key_notices).
    """
    api = client(forum, lambda: None, allowed_hosts)
    try:
        bot = api.get_user(forum.bot_user)
    except ForumAuthError as exc:
        # Discourse answers a wrong key and an unknown Api-Username alike (invalid_access).
        return [
            Problem(
                Severity.SETTINGS,
                f"Discourse refused the API key for {forum.bot_user!r} ({_reason(exc)}): "
                "create one under Admin → API → New API key with User Level 'All Users', "
                "and give the bot's exact username as --api-username",
            )
        ]
    except ForumNotFound:
        return [
            Problem(
                Severity.SETTINGS,
                f"Discourse has no user {forum.bot_user!r}: create the bot's account "
                "(Admin → Users) or give its exact username as --api-username",
            )
        ]
    if not (bot.admin or bot.moderator):
        return [
            Problem(
                Severity.SETTINGS,
                f"Discourse user {bot.username!r} is neither a moderator nor an admin, so it "
                "cannot send private messages to anyone: grant it moderation under "
                f"Admin → Users → {bot.username} → Grant Moderation",
            )
        ]
    return key_notices(api, bot.username)


# Discourse's own user: db/fixtures/009_users.rb seeds id -1 as `system` (active, renaming
# any other account of that name) on every migration, so a real Discourse always has it.
SYSTEM_USER = "system"
ALL_USERS = "create a key under Admin → API → New API key with User Level 'All Users'"
REFUSED = "refused"  # Discourse answered 403 invalid_access


def _scopes_as(api: DiscourseClient, username: str) -> list[str] | str | None:
    """The key's scopes asked as `username`, REFUSED on a 403, None when the answer is unsure.

    A 404 (a Discourse or a test double without the route), a 5xx, a timeout or a 429 tells
    nothing about the key, so it is None: only definite answers make a notice.
    """
    try:
        return api.key_scopes(username)
    except ForumAuthError as exc:
        return REFUSED if exc.status == 403 else None
    except ForumError:
        return None


def key_notices(api: DiscourseClient, bot_username: str) -> list[Problem]:
    """Whether the key acts for all users, unscoped: chat channels and members' flags need it."""
    # Discourse answers 403 invalid_access alike to a single-user key sent another Api-Username
    # and to a scoped key outside its scopes: lookup_api_user finds no user for either
    # (lib/auth/default_current_user_provider.rb; ApiKey#request_allowed?, app/models/
    # api_key.rb). But request_allowed? lets every key GET /session/scopes, which answers the
    # key's scopes (SessionController#scopes, app/controllers/session_controller.rb). So one
    # read of it as `system` answers 200 for an all-users key, with its scopes ([]: none);
    # a 403 is a single-user key only if the same read as the bot, just accepted, answers.
    found = _scopes_as(api, SYSTEM_USER)
    if found == REFUSED:
        if not isinstance(_scopes_as(api, bot_username), list):
            return []  # the route itself is refused or unknown here: nothing definite
        return [
            Problem(
                Severity.NOTICE,
                f"Discourse's API key acts only as {bot_username!r} (403 acting as "
                f"{SYSTEM_USER!r}), so reports cannot be flagged as the member and chat "
                f"channels cannot be created: {ALL_USERS}",
            )
        ]
    if isinstance(found, list) and found:
        return [
            Problem(
                Severity.NOTICE,
                f"Discourse's API key is limited to the scopes {', '.join(found)}, so chat "
                f"channels and reports' flags are refused: {ALL_USERS} and Scope 'Global'",
            )
        ]
    return []


KIND = ForumKind(
    name="discourse",
    client=client,
    mention=mention,
    privacy={
        "en": "This private message is just for the two of you and me, the program's bot "
        "(the forum's own admins can read private messages, as always on Discourse).",
        "de": "Diese private Nachricht ist nur für euch beide und mich, den Bot des Programms "
        "(die Admins des Forums können private Nachrichten lesen, wie immer bei Discourse).",
    },
    secret_problem=secret_problem,
    thread_url=thread_url,
    public_place="public_category",  # `!ask` makes a topic in a category, as the member
    cli_options=(
        ("--api-username", "Discourse: the bot's username"),
        ("--webhook-secret", "Discourse: the webhooks' secret"),
        ("--connect-secret", "Discourse: DiscourseConnect provider secret"),
    ),
    bot_option="api_username",
    secret_option="webhook_secret",
    # Admins sign in through the forum itself: DiscourseConnect provider mode (NOTES.md §5).
    sign_in=ForumSignIn(
        request_url=connect.request_url,
        verify=connect.signed_in,
        no_secret="This forum has no DiscourseConnect secret yet: add one with "
        "`mentorship forum add --connect-secret` or on the forum settings page.",
    ),
    settings_columns={
        "url": "url",
        "api_key": "api_key",
        "api_username": "bot_user",
        "webhook_secret": "webhook_secret",
        "connect_secret": "connect_secret",
        "request_budget_per_minute": "request_budget",
    },
    receiver="webhooks.discourse",
    check=check,
    guide="Connect a Discourse forum",
    # A report's post is flagged for the moderators as the reporting member (NOTES.md §7).
    outbox_kinds={REVIEW_FLAG: flags.FLAG},
    # Never a chat message: Discourse refuses notify_moderators in a DM channel, and for the
    # flags it allows there it sends moderators the channel's last messages (NOTES.md §7).
    flaggable=lambda thread: chat_channel(thread) is None,
    # Pairs may talk in a chat direct-message channel instead (`--space chat`); admins can
    # export every chat message (the chat plugin's admin export), so the sentence says so.
    chat_privacy={
        "en": "This chat channel is just for the two of you and me, the program's bot "
        "(the forum's own admins can export chat messages, as always on Discourse).",
        "de": "Dieser Chat-Kanal ist nur für euch beide und mich, den Bot des Programms "
        "(die Admins des Forums können Chat-Nachrichten exportieren, wie immer bei Discourse).",
    },
    # The admin pages' words for the two spaces, as the README names them.
    space_words={
        Space.PM: {"en": "private messages", "de": "privaten Nachrichten"},
        Space.CHAT: {"en": "a chat channel", "de": "einem Chat-Kanal"},
    },
)
