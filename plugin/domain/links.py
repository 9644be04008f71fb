"""Messages with a personal link, rendered only when they are sent.

A personal link (sign-up, rating, admin sign-in) is a bearer credential: whoever holds it
acts as the member. Such a message is queued as its template's name and arguments plus a
reference to the link (its type and the ids its token names) and the language it is
written in, never the URL or the token; its outbox kind mints the link and renders the
text just before the forum call. So the link never reaches the database's files (nor
SQLite's write-ahead log), and its validity starts when the member is sent it. A call whose
outcome was uncertain is first looked for by its marker, so a found post keeps the link it
was sent with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from plugin.domain.messages import Message, render
from plugin.engine.adapter import SentPost
from plugin.engine.outbox import Kind, SendContext, enqueue
from plugin.i18n import DEFAULT

# A link's type -> (settings, reference) -> its URL. The table is tables.LINKS.
Minter = Callable[[Any, dict], str]


def queue(
    session: Session,
    *,
    forum_id: int,
    key: str,
    ordering_key: str,
    template: str,
    language: str,
    args: dict[str, Any],
    link: dict[str, Any] | None,
    thread: str | None = None,
    usernames: list[str | None] | None = None,
    more_links: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Queue a message with a personal link: in `thread`, or a new thread with `usernames`.

    `more_links` names further links by their placeholder (a mentor's accept and decline
    links, say), each minted like `link` as the message is sent; `link` may then be None.
    """
    blanks = dict.fromkeys(more_links or {}, "")
    render(template, language, **args, **blanks, link="")  # a missing argument fails now
    payload: dict[str, Any] = {
        "template": template,
        "language": language,
        "args": args,
        "link": link,
    }
    if more_links:
        payload["more_links"] = more_links
    if thread is not None:
        payload["thread"] = thread
        kind = "link_post"
    else:
        payload["usernames"] = usernames or []
        kind = "link_open"
    enqueue(
        session,
        forum_id=forum_id,
        key=key,
        kind=kind,
        payload=payload,
        ordering_key=ordering_key,
    )


def link_kinds(minters: Mapping[str, Minter]) -> dict[str, Kind]:
    """The outbox kinds that mint the link and render the message when it is sent."""

    def message(ctx: SendContext, payload: dict) -> Message:
        if ctx.settings is None:
            raise RuntimeError("a personal link needs the worker's settings to be minted")
        ref = payload["link"]
        url = minters[ref["type"]](ctx.settings, ref) if ref is not None else ""
        more = {
            name: minters[ref["type"]](ctx.settings, ref)
            for name, ref in payload.get("more_links", {}).items()
        }
        # Rows queued before messages had languages carry none: they were English.
        language = payload.get("language", DEFAULT)
        return render(payload["template"], language, **payload["args"], **more, link=url)

    def send_open(ctx: SendContext, payload: dict, marker: str) -> SentPost:
        msg = message(ctx, payload)
        return ctx.adapter.open_thread(msg.title[:200], msg.text, payload["usernames"], marker)

    def send_post(ctx: SendContext, payload: dict, marker: str) -> SentPost:
        return ctx.adapter.post(payload["thread"], message(ctx, payload).text, marker)

    return {
        "link_open": Kind(send=send_open, find=lambda ctx, p, m: ctx.adapter.find_thread(m)),
        "link_post": Kind(
            send=send_post, find=lambda ctx, p, m: ctx.adapter.find_post(p["thread"], m)
        ),
    }
