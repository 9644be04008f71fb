"""`!report`: to the program's admins, and where the forum has one, into its review queue."""

from __future__ import annotations

from plugin.domain import hook_events, journey
from plugin.domain.messages import render
from plugin.domain.pairs import mention_of
from plugin.domain.reader import admin_language, member_language
from plugin.engine.inbox import HandlerContext
from plugin.engine.outbox import enqueue
from plugin.forums.kind import REVIEW_FLAG
from plugin.forums.registry import KINDS
from plugin.storage.models import Member, Pair, Program, Report
from plugin.storage.states import ReportKind, ReportState, Space

MAX_REPORT = 2000


def report(
    ctx: HandlerContext,
    member: Member,
    pair: Pair,
    program: Program,
    text: str,
    thread: str,
    post_id: str,
) -> None:
    """The report goes to the admins; the reporter is told privately; the partner, never."""
    key = f"cmd:{post_id}"
    own = member_language(member, program)
    if not text:
        journey.tell_member(ctx.session, ctx.forum.id, member, key, render("report_empty", own))
        return
    text = text[:MAX_REPORT]
    row = Report(
        program_id=program.id,
        pair_id=pair.id,
        reporter_id=member.id,
        kind=ReportKind.REPORT,
        text=text,
        state=ReportState.OPEN,
    )
    ctx.session.add(row)
    hook_events.emit_report(ctx.session, row, ctx.clock.now())
    quoted = "\n> ".join(text.splitlines())
    journey.tell_admins(
        ctx.session,
        program,
        f"report:{key}",
        render(
            "report_admins",
            admin_language(program),
            program=program.title,
            reporter=mention_of(ctx.session, member),
            pair=journey.pair_label(ctx.session, pair, admin_language(program)),
            text=quoted,
        ),
    )
    journey.tell_member(
        ctx.session,
        ctx.forum.id,
        member,
        f"report-ack:{key}",
        render("report_ack", own, program=program.title),
    )
    flag_for_review(ctx, member, program, text, thread, post_id)


def flag_for_review(
    ctx: HandlerContext, member: Member, program: Program, text: str, thread: str, post_id: str
) -> None:
    """Where the forum has a review queue, the report's post is flagged there as the member.

    The text is in the outbox row only until it is sent (outbox.diagnosis_payload). In a chat
    space nothing is flagged (INTERFACE.md): Discourse refuses notify_moderators in a DM
    channel, and for the flags it allows there it sends the moderators a transcript of the
    channel's last messages, which would forward the pair's conversation.
    """
    kind = KINDS[ctx.forum.kind]
    if not kind.review_queue or not post_id or program.space == Space.CHAT:
        return
    if not kind.flaggable(thread):  # e.g. a PM-space program's report sent to the bot in chat
        return
    enqueue(
        ctx.session,
        forum_id=ctx.forum.id,
        key=f"flag:{ctx.forum.id}:{post_id}",
        kind=REVIEW_FLAG,
        payload={"post_id": post_id, "thread": thread, "username": member.username, "text": text},
    )
