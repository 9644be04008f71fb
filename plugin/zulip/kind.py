"""Zulip as a forum kind: its client, mention syntax, privacy sentence and event-queue poller."""

from __future__ import annotations

import re

from plugin.engine.adapter import ForumAuthError, ForumNotFound
from plugin.forums.kind import ForumKind, Problem, Severity
from plugin.storage.models import Forum
from plugin.storage.states import Space
from plugin.zulip.client import connect, thread_name
from plugin.zulip.models import ZulipQueue
from plugin.zulip.poller import listen, poll_zulip


def mention(username: str | None, name: str | None, user_id: int) -> str:
    """@**Name|id** notifies a Zulip user, whatever their name."""
    return f"@**{name or username}|{user_id}**"


def unavailable_body(body: dict) -> dict:
    """Zulip reads an outgoing webhook's answer as a reply unless told none is required."""
    return {**body, "response_not_required": True}


_THREAD = re.compile(r"[0-9]+(,[0-9]+)*")


def thread_url(forum_url: str, thread: str) -> str | None:
    """A pair's group DM in the web app: the `dm` narrow of its members' ids, `-group` slug.

    The narrow shows the conversation between whoever opens it and those ids, so it opens
    the pair's thread for its members; others (admins included) see no messages in it.
    """
    if not _THREAD.fullmatch(thread):
        return None  # not the sorted user ids that client.thread_name makes
    return f"{forum_url.rstrip('/')}/#narrow/dm/{thread}-group"


def secret_problem(token: str) -> str | None:
    """Zulip's outgoing webhooks carry a token, which must not be blank."""
    if not token.strip():
        return "--webhook-token must not be empty"
    return None


BOTS = "Settings → Personal settings → Bots"


def check(forum: Forum, allowed_hosts: frozenset[str]) -> list[Problem]:
    """The bot's email and API key are accepted and the bot's own user is active.

    One GET /users/{email}, which the service calls anyway to find members.
    """
    api = connect(forum, lambda: None, allowed_hosts)
    try:
        bot = api.own_user()
    except ForumAuthError as exc:
        # Zulip answers a wrong key, an unknown email and a deactivated bot with a 401.
        said = "; ".join(exc.errors) or f"HTTP {exc.status}"
        return [
            Problem(
                Severity.SETTINGS,
                f"Zulip says: {said} (for {forum.bot_user}): use the bot's email and API key "
                f"from {BOTS}",
            )
        ]
    except ForumNotFound:
        return [
            Problem(
                Severity.SETTINGS,
                f"Zulip has no user {forum.bot_user!r}: use the bot's email from {BOTS}",
            )
        ]
    if not bot.get("is_active", True):
        return [
            Problem(
                Severity.SETTINGS,
                f"Zulip bot {forum.bot_user} is deactivated: reactivate it under {BOTS}",
            )
        ]
    return []


KIND = ForumKind(
    name="zulip",
    client=connect,
    mention=mention,
    privacy={
        "en": "This group direct message is just for the two of you and me, the program's bot.",
        "de": "Diese Gruppen-Direktnachricht ist nur für euch beide und mich, den Bot des "
        "Programms.",
    },
    secret_problem=secret_problem,
    thread_url=thread_url,
    # A pair's space is always a group direct message, Zulip's own name for it.
    space_words={Space.PM: {"en": "group direct messages", "de": "Gruppen-Direktnachrichten"}},
    thread_url_note="A pair's link opens their group direct message, which Zulip shows only to "
    "the pair and the bot: other admins see an empty conversation there.",
    cli_options=(
        ("--bot-email", "Zulip: the bot's email"),
        ("--webhook-token", "Zulip: the outgoing webhook's token"),
    ),
    bot_option="bot_email",
    secret_option="webhook_token",
    direct_thread=lambda user_id: thread_name([user_id]),
    admin_link_in_chat=True,
    public_place="public_stream",  # `!ask` is a stream message by the bot
    periodic=(poll_zulip,),
    listeners=(listen,),
    tables=(ZulipQueue,),
    # `!admin` in a direct message to the bot answers with a single-use sign-in link.
    sign_in_elsewhere="On Zulip, send !admin to the mentorship bot in a direct message.",
    settings_columns={
        "url": "url",
        "bot_email": "bot_user",
        "api_key": "api_key",
        "webhook_token": "webhook_secret",
        "request_budget_per_minute": "request_budget",
    },
    unavailable_body=unavailable_body,
    receiver="webhooks.zulip",
    check=check,
    guide="Connect a Zulip organisation",
)
