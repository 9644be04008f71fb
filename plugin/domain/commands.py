"""Commands members send: in a pair's thread, or in a private message to the bot."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import or_, select

from plugin.domain import (
    ask,
    directory,
    graduation,
    hook_events,
    journey,
    links,
    reports,
    requests,
)
from plugin.domain.admins import Person, admin_reference, may_enter
from plugin.domain.messages import render
from plugin.domain.pairs import ACTIVE, members_of, mention_of, post_to_pair
from plugin.domain.reader import (
    admin_language,
    direct_language,
    member_language,
    member_zone,
    pair_language,
    pair_zone,
)
from plugin.domain.signups import send_link
from plugin.engine.inbox import HandlerContext
from plugin.engine.outbox import enqueue
from plugin.engine.payloads import canonical
from plugin.forums.registry import KINDS
from plugin.storage.models import Member, Pair, Program, Report, Signup
from plugin.storage.states import ProgramState, SignupState

WORD = re.compile(r"^\s*!?([A-Za-z][A-Za-z_-]*)\s*(.*)$", re.S)


def parse(text: str) -> tuple[str, str]:
    """('pause', '3') from '!pause 3', ('done', '') from '!erledigt'; ('', '') for no command."""
    match = WORD.match(text)
    # The receivers keep only these words' text (and their aliases): the same set, one place.
    word = canonical(match.group(1)) if match is not None else ""
    return (word, match.group(2).strip()) if match is not None and word else ("", "")


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


def active_pairs_of(ctx: HandlerContext, member: Member) -> list[Pair]:
    """The member's running pairings, in any program of this forum."""
    signups = select(Signup.id).where(Signup.member_id == member.id)
    return list(
        ctx.session.execute(
            select(Pair)
            .where(
                or_(Pair.mentor_id.in_(signups), Pair.mentee_id.in_(signups)),
                Pair.state.in_(ACTIVE),
            )
            .order_by(Pair.id)
        ).scalars()
    )


def handle_command(
    ctx: HandlerContext, member: Member, pair: Pair | None, thread: str, text: str, post_id: str
) -> None:
    """Run a member's command; commands from anyone outside the pair are ignored."""
    word, rest = parse(text)
    if pair is not None:
        if member.id in {m.id for m in members_of(ctx.session, pair)}:
            run_pair_command(ctx, member, pair, thread, word, rest, post_id)
        return
    # A private message to the bot.
    language = direct_language(ctx.session, member)
    if word == "signup":
        _send_privately(
            ctx, member, thread, post_id, language, word,
            lambda target: send_fresh_links(ctx, member, target),
        )  # fmt: skip
    elif word == "directory":
        key = f"reply:{ctx.forum.id}:{thread}:directory:{post_id}"
        _send_privately(
            ctx, member, thread, post_id, language, word,
            lambda target: directory.send_fresh_links(ctx.session, member, target, key),
        )  # fmt: skip
    elif word == "admin":
        _admin(ctx, member, thread, post_id, language)
    elif word == "graduate":
        # The latest pairing they completed as a mentee, in whichever program.
        done = graduation.graduated_pairs(ctx.session, member)
        said = graduation.graduate(
            ctx.session, member, done[0] if done else None, post_id, language
        )
        reply(ctx, thread, f"graduate:{post_id}", said)
    elif word in requests.ACTIONS:
        answer = requests.answer_command(ctx.session, member, word, rest, ctx.clock.now(), language)
        reply(ctx, thread, f"{word}:{post_id}", answer.text)
    elif word in PAIR_COMMANDS and word != "help":
        pairs = active_pairs_of(ctx, member)
        if len(pairs) == 1:
            run_pair_command(ctx, member, pairs[0], thread, word, rest, post_id)
        elif pairs:
            reply(ctx, thread, f"several:{post_id}", render("several_pairs", language).text)
        else:
            reply(ctx, thread, f"nopair:{post_id}", render("no_pair", language).text)
    else:
        reply(ctx, thread, f"help:{post_id}", render("help", language).text)


def one_to_one(ctx: HandlerContext, member: Member, thread: str) -> bool:
    """Whether `thread` is a conversation of the member and the bot alone.

    A Zulip direct message is named by its people, so that is the member's id alone. A
    Discourse private message's people are not in the webhook and may be invited later:
    it never counts as one.
    """
    direct_thread = KINDS[ctx.forum.kind].direct_thread
    return direct_thread is not None and thread == direct_thread(member.forum_user_id)


def _send_privately(
    ctx: HandlerContext,
    member: Member,
    thread: str,
    post_id: str,
    language: str,
    word: str,
    send: Callable[[str | None], bool],
) -> None:
    """`!WORD`'s personal links, only where nobody but the member reads them.

    `send(target)` sends them in `target`, or in a new private message for None, and says
    whether there were any; if not, the member reads the `WORD_unknown` message.
    """
    direct = one_to_one(ctx, member, thread)
    # Where the forum can tell a one-to-one thread (Zulip), links go only in one.
    if KINDS[ctx.forum.kind].direct_thread is not None and not direct:
        reply(ctx, thread, f"direct-only:{post_id}", _direct_only(f"!{word}", language))
        return
    # Where it cannot (Discourse), they go in a new private message to the member alone.
    if not send(thread if direct else None):
        reply(ctx, thread, f"{word}-unknown:{post_id}", render(f"{word}_unknown", language).text)


def _direct_only(command: str, language: str) -> str:
    return render("link_direct_only", language, command=command).text


def _admin(ctx: HandlerContext, member: Member, thread: str, post_id: str, language: str) -> None:
    """A single-use sign-in link (Zulip, one-to-one only), or where to sign in (Discourse)."""
    key = f"admin:{post_id}"
    if not KINDS[ctx.forum.kind].admin_link_in_chat:
        # The public sign-in page, the same for everyone: no credential in it.
        login = f"{ctx.settings.base_url}/admin/login?forum={ctx.forum.name}"
        reply(ctx, thread, key, render("admin_login", language, link=login).text)
        return
    if not one_to_one(ctx, member, thread):
        reply(ctx, thread, key, _direct_only("!admin", language))
        return
    # The role comes from the forum's answer about this very user id (the prefetch).
    user = (ctx.prefetched or {}).get("user")
    is_admin = bool(user is not None and user.id == member.forum_user_id and user.admin)
    # Only an erased member has no username; the cast keeps what happened then unchanged.
    person = Person(member.forum_user_id, cast(str, member.username), is_admin, is_admin)
    if not may_enter(ctx.session, ctx.forum.id, person):
        reply(ctx, thread, key, render("admin_refused", language).text)
        return
    # The link is minted when the answer is sent (plugin.domain.links): never stored, and
    # its ten minutes start then. The key and order are those of any other reply.
    links.queue(
        ctx.session,
        forum_id=ctx.forum.id,
        key=f"reply:{ctx.forum.id}:{thread}:{key}",
        ordering_key=f"thread:{thread}",
        template="admin_link",
        language=language,
        args={},
        link={"type": "admin", "forum_id": ctx.forum.id, **admin_reference(person)},
        thread=thread,
    )


@dataclass(frozen=True)
class PairCommand:
    """One command acting on one pair: who sent it, where, and its arguments."""

    ctx: HandlerContext
    member: Member
    pair: Pair
    program: Program
    thread: str
    rest: str
    key: str
    now: datetime
    language: str  # of the thread the answer goes to: the pair's, or the member's own
    zone: str  # of dates in the answer: the pair thread's, or the member's own
    post_id: str = ""  # the forum's id of the post that carried the command

    def respond(self, text: str) -> None:
        """Answer in the pair's thread, or wherever the command was sent."""
        if self.thread == self.pair.thread:
            post_to_pair(self.ctx.session, self.pair, self.key, text)
        else:
            reply(self.ctx, self.thread, self.key, text)


def _done(cmd: PairCommand) -> None:
    """`!done`: the posted step counts as done; say what comes next."""
    pair, program = cmd.pair, cmd.program
    pair.steps_done = max(pair.steps_done, pair.step_posted)
    next_step = journey.next_step_text(pair, program, cmd.language, cmd.zone)
    cmd.respond(render("done", cmd.language, step=pair.step_posted, next=next_step).text)


def _pause(cmd: PairCommand) -> None:
    """`!pause [weeks]`."""
    journey.pause(cmd.ctx.session, cmd.pair, cmd.program, cmd.now, _weeks(cmd.rest), cmd.key)


def _resume(cmd: PairCommand) -> None:
    """`!resume`: a paused pair goes on; a running one is told its next step."""
    if cmd.pair.state == "paused":
        journey.resume(cmd.ctx.session, cmd.pair, cmd.program, cmd.now, cmd.key)
    else:
        next_step = journey.next_step_text(cmd.pair, cmd.program, cmd.language, cmd.zone)
        cmd.respond(render("resume", cmd.language, next=next_step).text)


def _end(cmd: PairCommand) -> None:
    """`!end`: the pairing ends."""
    journey.end(cmd.ctx.session, cmd.pair, cmd.now, by=cmd.member, reason="ended", key=cmd.key)


def _block(cmd: PairCommand) -> None:
    """`!block`: the pairing ends, the block is recorded, and the admins are told."""
    session, pair, program, member = cmd.ctx.session, cmd.pair, cmd.program, cmd.member
    journey.end(session, pair, cmd.now, by=member, reason="blocked", key=cmd.key)
    block = Report(
        program_id=program.id,
        pair_id=pair.id,
        reporter_id=member.id,
        kind="block",
        text=None,
        state="open",
    )
    session.add(block)
    hook_events.emit_report(session, block, cmd.now)
    language = admin_language(program)
    journey.tell_admins(
        session,
        program,
        f"block:{pair.id}",
        render(
            "block_admins",
            language,
            program=program.title,
            blocker=mention_of(session, member),
            pair=journey.pair_label(session, pair, language),
        ),
    )


def _report_command(cmd: PairCommand) -> None:
    """`!report text`: to the admins, whatever state the pair is in (plugin.domain.reports)."""
    reports.report(cmd.ctx, cmd.member, cmd.pair, cmd.program, cmd.rest, cmd.thread, cmd.post_id)


def _ask(cmd: PairCommand) -> None:
    """`!ask text`: the question goes public; the link (or the forum's reason) comes back."""
    answer = ask.queue_question(
        cmd.ctx.session, cmd.pair, cmd.program, cmd.member, cmd.rest, cmd.key, cmd.language
    )
    if answer is not None:
        cmd.respond(answer)


def _help(cmd: PairCommand) -> None:
    """`!help`, and any word we do not know."""
    cmd.respond(render("help", cmd.language).text)


# The pair commands: word -> handler. Anything else gets the help text.
PAIR_HANDLERS: dict[str, Callable[[PairCommand], None]] = {
    "help": _help,
    "done": _done,
    "pause": _pause,
    "resume": _resume,
    "end": _end,
    "report": _report_command,
    "block": _block,
    "ask": _ask,
}
PAIR_COMMANDS = tuple(PAIR_HANDLERS)
# Words that act on a pair whatever its state; the rest only on a running pair.
ANY_STATE = frozenset({"report", "help"})


def run_pair_command(
    ctx: HandlerContext, member: Member, pair: Pair, thread: str, word: str, rest: str, post_id: str
) -> None:
    """A command that acts on one pair; answers go where the command was sent."""
    now = ctx.clock.now()
    program = ctx.session.get(Program, pair.program_id)
    in_pair = thread == pair.thread
    language = pair_language(pair, program) if in_pair else member_language(member, program)
    zone = pair_zone(pair) if in_pair else member_zone(pair, member)
    cmd = PairCommand(
        ctx, member, pair, program, thread, rest, f"cmd:{post_id}", now, language, zone, post_id
    )
    if word == "graduate":  # only for a completed pair: graduation checks
        cmd.respond(graduation.graduate(ctx.session, member, pair, post_id, language))
        return
    if word not in ANY_STATE and pair.state not in ("active", "paused"):
        cmd.respond(render("already_ended", language).text)
        return
    PAIR_HANDLERS.get(word, _help)(cmd)


def _weeks(text: str) -> float:
    """The weeks of `!pause N`: the default if none or unreadable, within the allowed range."""
    try:
        weeks = float(text.split()[0]) if text.strip() else journey.DEFAULT_PAUSE_WEEKS
    except ValueError:
        weeks = journey.DEFAULT_PAUSE_WEEKS
    return min(max(weeks, 1 / 7), journey.MAX_PAUSE_WEEKS)


def send_fresh_links(ctx: HandlerContext, member: Member, thread: str | None) -> bool:
    """`!signup`: a fresh link for each of the member's sign-ups in open programs; any?

    `thread` must be a one-to-one conversation with the member; None opens a new one.
    """
    signups = ctx.session.execute(
        select(Signup, Program)
        .join(Signup.program)
        .where(
            Signup.member_id == member.id,
            Signup.state != SignupState.WITHDRAWN,
            Program.state == ProgramState.OPEN,
        )
    ).all()
    for signup, program in signups:
        send_link(ctx.session, signup, program, member, template="signup_fresh", thread=thread)
    return bool(signups)
