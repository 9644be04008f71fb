"""Commands members send: in a pair's thread, or in a private message to the bot."""

from __future__ import annotations

import re

from plugin.inbox import HandlerContext
from plugin.messages import render
from plugin.models import Member, Pair
from plugin.outbox import enqueue

WORD = re.compile(r"^\s*!?([A-Za-z][A-Za-z_-]*)\s*(.*)$", re.S)


def parse(text: str) -> tuple[str, str]:
    """('signup', rest) from '!signup ...'."""
    match = WORD.match(text)
    return (match.group(1).lower(), match.group(2).strip()) if match else ("", "")


def reply(ctx: HandlerContext, thread: str, key: str, text: str) -> None:
    """Answer in the thread the command came from (once per command post)."""
    enqueue(
        ctx.session,
        forum_id=ctx.forum.id,
        key=f"reply:{ctx.forum.id}:{thread}:{key}",
        kind="post",
        payload={"thread": thread, "text": text},
        ordering_key=f"thread:{thread}",
    )


def handle_command(
    ctx: HandlerContext, member: Member, pair: Pair | None, thread: str, text: str, post_id: str
) -> None:
    """Run a member's command."""
    from plugin.events import send_fresh_links

    word, _rest = parse(text)
    if pair is None and word == "signup":
        if not send_fresh_links(ctx, member, thread):
            reply(
                ctx,
                thread,
                f"signup-unknown:{post_id}",
                render("signup_unknown").text,
            )
