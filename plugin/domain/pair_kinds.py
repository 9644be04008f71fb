"""The pairs' outbox kinds: opening a pair's space and posting in it, recording where each landed.

The space is a private message (or a Zulip group DM), or, for a program with `--space chat`, a
chat channel; once opened, its thread name takes post() and find_post() either way.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.domain import journey
from plugin.domain.messages import render
from plugin.domain.pairs import ACTIVE, back_to_waiting, mark_ended
from plugin.domain.reader import admin_language
from plugin.engine.adapter import SentPost, Undeliverable
from plugin.engine.outbox import Kind, SendContext
from plugin.storage.db import reading
from plugin.storage.models import OutboxMessage, Pair
from plugin.storage.states import Space

NOT_OPENED = "not_opened"  # Pair.end_reason of a pairing whose space the forum refused


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


def _not_opened(session: Session, row: OutboxMessage, payload: dict, error: str) -> None:
    """The forum would not open the pair's space: the pairing ends before it began, both
    wait again first in line, and the admins hear the forum's reason.

    E.g. a member who cannot chat, whom Discourse leaves out of a chat channel. Without this
    the pair would run on with nowhere to talk, every step given up in turn.
    """
    pair = session.get(Pair, payload["pair_id"])
    if pair is None or pair.state not in ACTIVE or pair.thread is not None:
        return
    now = row.run_at  # when it was last tried, on the worker's (logical) clock
    mark_ended(session, pair, now, NOT_OPENED)
    for signup in (pair.mentee, pair.mentor):
        back_to_waiting(session, signup, priority=True)
    program, language = pair.program, admin_language(pair.program)
    journey.tell_admins(
        session,
        program,
        f"not-opened:{pair.id}",
        render(
            "pair_not_opened_admins",
            language,
            program=program.title,
            pair=journey.pair_label(session, pair, language),
            reason=error,
        ),
    )


def _posted(session: Session, row: OutboxMessage, payload: dict, sent: SentPost) -> None:
    pair = session.get_one(Pair, payload["pair_id"])
    pair.step_posted = max(pair.step_posted, payload.get("step", 0))


# The pairs' own outbox kinds: they record where the pair's thread and steps landed.
PAIR_KINDS: dict[str, Kind] = {
    "pair_open": Kind(send=_open, find=_find_opened, on_sent=_opened, on_dead=_not_opened),
    "pair_post": Kind(
        send=lambda ctx, p, m: ctx.adapter.post(_pair_thread(ctx, p), p["text"], m),
        find=lambda ctx, p, m: ctx.adapter.find_post(_pair_thread(ctx, p), m),
        on_sent=_posted,
    ),
}
