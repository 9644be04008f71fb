"""Zulip as a forum kind: its client, mention syntax, privacy sentence and event-queue poller."""

from __future__ import annotations

from plugin.forums.kind import ForumKind
from plugin.zulip.client import connect, thread_name
from plugin.zulip.models import ZulipQueue
from plugin.zulip.poller import listen, poll_zulip


def mention(username: str | None, name: str | None, user_id: int) -> str:
    """@**Name|id** notifies a Zulip user, whatever their name."""
    return f"@**{name or username}|{user_id}**"


def secret_problem(token: str) -> str | None:
    """Zulip's outgoing webhooks carry a token, which must not be blank."""
    if not token.strip():
        return "--webhook-token must not be empty"
    return None


KIND = ForumKind(
    name="zulip",
    client=connect,
    mention=mention,
    privacy="This group direct message is just for the two of you and me, the program's bot.",
    secret_problem=secret_problem,
    cli_options=(
        ("--bot-email", "Zulip: the bot's email"),
        ("--webhook-token", "Zulip: the outgoing webhook's token"),
    ),
    bot_option="bot_email",
    secret_option="webhook_token",
    direct_thread=lambda user_id: thread_name([user_id]),
    admin_link_in_chat=True,
    periodic=(poll_zulip,),
    listeners=(listen,),
    tables=(ZulipQueue,),
)
