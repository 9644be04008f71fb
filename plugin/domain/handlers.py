"""What the worker does with each stored event (the inbox's handlers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain.commands import handle_command, parse
from plugin.domain.pairs import members_of, pair_for_thread, record_activity
from plugin.domain.signups import (
    member_by_user_id,
    programs_for_group,
    sign_up,
    upsert_member,
    withdraw,
)
from plugin.engine.adapter import ForumAdapter, ForumUser
from plugin.engine.clock import Clock, parse_instant
from plugin.engine.inbox import HandlerContext
from plugin.storage.db import transaction
from plugin.storage.models import Program, Signup
from plugin.storage.states import ProgramState, Role, SignupState

RECONCILE_EVERY_HOURS = 6


def prefetch_joiner(ctx: HandlerContext, ev: dict) -> ForumUser | None:
    """The joining user, asked of the forum only when their group is an open program's."""
    # Only look the user up (an API call) when the group belongs to an open program.
    open_roles = [
        (p.id, r)
        for p, r in programs_for_group(ctx.session, ctx.forum.id, ev["group_id"])
        if p.state == ProgramState.OPEN
    ]
    return ctx.adapter.get_user_by_id(ev["user_id"]) if open_roles else None


def on_member_added(ctx: HandlerContext, ev: dict) -> None:
    """Joining a mentor or mentee group signs the member up and sends their link."""
    if ctx.prefetched is None:
        return
    member = upsert_member(ctx.session, ctx.forum.id, ctx.prefetched)
    for program, role in programs_for_group(ctx.session, ctx.forum.id, ev["group_id"]):
        sign_up(ctx.session, program, member, role, now=ctx.clock.now())


def on_member_removed(ctx: HandlerContext, ev: dict) -> None:
    """Leaving the group withdraws the sign-up (and ends a running pairing)."""
    member = member_by_user_id(ctx.session, ctx.forum.id, ev["user_id"])
    if member is None:
        return
    for program, role in programs_for_group(ctx.session, ctx.forum.id, ev["group_id"]):
        signup = ctx.session.execute(
            select(Signup).where(
                Signup.program_id == program.id, Signup.member_id == member.id, Signup.role == role
            )
        ).scalar_one_or_none()
        if signup is not None:
            withdraw(ctx.session, signup, ctx.clock.now())


def prefetch_post(ctx: HandlerContext, ev: dict) -> dict[str, ForumUser] | None:
    """For `!admin`, the sender as the forum knows them (their role); else nothing."""
    # `!admin` on Zulip needs the sender's role, which the forum tells by their user id.
    if parse(ev.get("command") or "")[0] != "admin":
        return None
    # An admin has usually never signed up: we may not know them yet.
    return {"user": ctx.adapter.get_user_by_id(ev["user_id"])}


def on_post(ctx: HandlerContext, ev: dict) -> None:
    """Activity in a pair's thread; commands there or in a message to the bot."""
    thread = str(ev["topic_id"])
    member = member_by_user_id(ctx.session, ctx.forum.id, ev["user_id"])
    if member is None and ctx.prefetched and ctx.prefetched.get("user"):
        member = upsert_member(ctx.session, ctx.forum.id, ctx.prefetched["user"])
    pair = pair_for_thread(ctx.session, ctx.forum.id, thread)
    if (
        pair is not None
        and member is not None
        and member.id in {m.id for m in members_of(ctx.session, pair)}
    ):
        record_activity(
            ctx.session, pair, member, str(ev["post_id"]), parse_instant(ev["created_at"])
        )
    # A message to the bot that is no command (its text was never stored) gets the help.
    command = ev.get("command") or ("help" if ev.get("to_bot") else None)
    if command and member is not None:
        handle_command(ctx, member, pair, thread, command, str(ev["post_id"]))


def reconcile(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
) -> int:
    """Periodic job: sign up whoever is in the groups, withdraw whoever left.

    Catches members who joined before a program opened and any webhook the forum
    dropped (Discourse does not retry by default).
    """
    now = clock.now()
    done = 0
    with transaction(factory) as session:
        stale = now.timestamp() - RECONCILE_EVERY_HOURS * 3600
        programs = [
            p
            for p in session.execute(
                select(Program).where(Program.state == ProgramState.OPEN)
            ).scalars()
            if p.reconciled_at is None or p.reconciled_at.timestamp() <= stale
        ]
        for p in programs:
            p.reconciled_at = now  # claim it: another worker skips it meanwhile
    for program in programs:
        _reconcile_claimed(factory, adapter_for(program.forum_id), program, now, config)
        done += 1
    return done


def _reconcile_claimed(
    factory: sessionmaker[Session],
    adapter: ForumAdapter,
    program: Program,
    now: datetime,
    config: Config,
) -> dict[Role, int]:
    """_reconcile_program on a program claimed by its reconciled_at; released if it fails."""
    try:
        return _reconcile_program(factory, adapter, program, now, config)
    except Exception:
        with transaction(factory) as session:  # the next pass tries again
            session.get_one(Program, program.id).reconciled_at = None
        raise


def _reconcile_program(
    factory: sessionmaker[Session],
    adapter: ForumAdapter,
    program: Program,
    now: datetime,
    config: Config,
) -> dict[Role, int]:
    """Sign up whoever is in the program's groups; per role, how many wait for their link."""
    listed = {
        role: list(adapter.group_members(name))
        for role, name in (
            (Role.MENTOR, program.mentor_group_name),
            (Role.MENTEE, program.mentee_group_name),
        )
    }
    invited = dict.fromkeys(listed, 0)
    with transaction(factory) as session:
        program = session.get_one(Program, program.id)
        for role, users in listed.items():
            present = set()
            for user in users:
                member = upsert_member(session, program.forum_id, user)
                present.add(member.id)
                joined = sign_up(session, program, member, role, now=now)
                if joined is not None and joined.state == SignupState.PENDING:
                    invited[role] += 1
            gone = session.execute(
                select(Signup).where(
                    Signup.program_id == program.id,
                    Signup.role == role,
                    Signup.state != SignupState.WITHDRAWN,
                    Signup.member_id.not_in(present or {-1}),
                )
            ).scalars()
            for signup in gone:
                withdraw(session, signup, now)
    return invited


def reconcile_now(
    factory: sessionmaker[Session],
    adapter: ForumAdapter,
    program_id: int,
    now: datetime,
    config: Config,
) -> dict[Role, int]:
    """Sign up one open program's group members at once (`program open`); counts by role.

    The sign-up links themselves go out through the outbox, with the worker's next pass.
    """
    with transaction(factory) as session:
        program = session.get_one(Program, program_id)
        program.reconciled_at = now  # the periodic job need not read the groups again yet
    return _reconcile_claimed(factory, adapter, program, now, config)
