"""The pairs' outbox kinds: opening a pair's space and posting in it, recording where each landed.

The space is a private message (or a Zulip group DM), or, for a program with `--space chat`, a
chat channel; once opened, its thread name takes post() and find_post() either way.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.engine.adapter import SentPost, Undeliverable
from plugin.engine.outbox import Kind, SendContext
from plugin.storage.db import reading
from plugin.storage.models import OutboxMessage, Pair
from plugin.storage.states import Space


def _pair_thread(ctx: SendContext, payload: dict) -> str:
    with reading(ctx.factory) as session:
        thread = session.get_one(Pair, payload["pair_id"]).thread
    if thread is None:  # the ordering key sends the opener first; it must have been given up
        raise Undeliverable(f"pair {payload['pair_id']} has no thread")
    return thread


def _open(ctx: SendContext, payload: dict, marker: str) -> SentPost:
    """The pair's space: a private message, or a chat channel (`--space chat`)."""
    args = (payload["title"], payload["text"], payload["usernames"], marker)
    if payload.get("space") == Space.CHAT:
        return ctx.adapter.open_chat(*args)
    return ctx.adapter.open_thread(*args)


def _find_opened(ctx: SendContext, payload: dict, marker: str) -> SentPost | None:
    if payload.get("space") == Space.CHAT:
        return ctx.adapter.find_chat(payload["title"], payload["usernames"], marker)
    return ctx.adapter.find_thread(marker)


def _opened(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    pair = session.get_one(Pair, payload["pair_id"])
    pair.thread = sent.thread
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


def _posted(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    pair = session.get_one(Pair, payload["pair_id"])
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


# The pairs' own outbox kinds: they record where the pair's thread and steps landed.
PAIR_KINDS: dict[str, Kind] = {
    "pair_open": Kind(send=_open, find=_find_opened, on_sent=_opened),
    "pair_post": Kind(
        send=lambda ctx, p, m: ctx.adapter.post(_pair_thread(ctx, p), p["text"], m),
        find=lambda ctx, p, m: ctx.adapter.find_post(_pair_thread(ctx, p), m),
        on_sent=_posted,
    ),
}
