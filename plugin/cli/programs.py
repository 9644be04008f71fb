"""Commands that manage programs, pairs and matching (docs/operator-interface.md)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain import requests
from plugin.domain.handlers import reconcile_now
from plugin.domain.programs import service
from plugin.domain.programs.language import program_language
from plugin.engine.adapter import ForumAdapter, ForumError, ForumUnavailable
from plugin.engine.clock import Clock
from plugin.forums.connections import InputError, adapter_factory, get_forum
from plugin.forums.registry import KINDS, spaces
from plugin.i18n import supported_list
from plugin.logs import say
from plugin.resources import data_path
from plugin.storage.db import reading, transaction
from plugin.storage.models import Member, Pair, Program, Signup, utcnow
from plugin.storage.states import ProgramState, Role, Space

WORKER_NEXT = "on its next pass (`mentorship worker --once`, or a running `serve`)"


class CommandEnv(Protocol):
    """What these commands use of plugin.cli.Env, which imports this module (no cycle)."""

    config: Config
    sessions: sessionmaker[Session]


Command = Callable[[argparse.Namespace, CommandEnv], tuple[Any, str]]


def _program_doc(program: Program) -> dict:
    return service.describe(program)


def cmd_program_create(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`program create`: a draft program from a template, its groups checked with the forum."""
    admins = [a.strip() for a in (args.admins or "").split(",") if a.strip()] or None
    service.check_inputs(args.template, args.cadence_days)
    with reading(env.sessions) as session:
        forum = get_forum(session, args.forum)
    # Checked before the forum is asked anything: the option must be this forum kind's own.
    place = _public_place(args, forum.kind)
    space = _space(args, forum.kind)
    adapter = adapter_factory(
        env.sessions, Clock(), wait=True, allowed_hosts=env.config.allowed_internal_hosts
    )(forum.id)
    # The forum is asked first, outside any write transaction (see plugin.storage.db.reading).
    # An --language is checked before the forum is asked anything; without one it is the forum's.
    language = program_language(adapter, args.language)
    _check_public_place(adapter, place)
    doubt = service.chat_doubt(adapter, space)
    resolved = service.resolve(
        adapter,
        group=args.group,
        mentor_group=args.mentor_group,
        mentee_group=args.mentee_group,
        admins=admins,
    )
    with transaction(env.sessions) as session:
        program = service.create_program(
            session,
            forum,
            resolved,
            template=args.template,
            title=args.title,
            cadence_days=args.cadence_days,
            language=language,
            self_service=args.self_service,
            space=space,
            **place,
        )
        doc = _program_doc(program)
    if doubt:  # created all the same: stdout keeps the contract's document
        say("notice", f"pairs may not be able to talk in chat on this forum: {doubt}")
    short = {k: doc[k] for k in ("id", "title", "steps", "state")}
    return short | doc, (
        f"program {doc['id']} created as a draft in language {language}"
        f"{' (self-service: mentees choose their mentor)' if doc['self_service'] else ''}: "
        f"{doc['title']}; review its steps on the admin pages, then open it with "
        f"`mentorship program open {doc['id']}`"
    )


def _public_place(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The Program column `--public-category`/`--public-stream` fills: the forum's kind's own."""
    given = {
        name: value
        for name, value in (
            ("public_category", args.public_category),
            ("public_stream", args.public_stream),
        )
        if value is not None
    }
    wanted = KINDS[kind].public_place
    for name in given:
        if name != wanted:
            flag = "--" + name.replace("_", "-")
            other = f"; use --{wanted.replace('_', '-')}" if wanted else ""
            raise InputError(f"{flag} is not for a {kind} forum{other}")
    if "public_stream" in given and not str(given["public_stream"]).strip():
        raise InputError("--public-stream needs a stream name")
    return given


def _space(args: argparse.Namespace, kind: str) -> Space:
    """`--space`, if this forum kind offers it (chat: Discourse only; INTERFACE.md)."""
    space = Space(args.space)
    if space not in spaces(kind):
        offered = ", ".join(spaces(kind))
        raise InputError(f"--space {space} is not offered on a {kind} forum (only: {offered})")
    return space


def _check_public_place(adapter: ForumAdapter, place: dict[str, Any]) -> None:
    """An unknown public place, or one the bot may not use, is a usage error (exit 2)."""
    for name, value in place.items():
        try:
            adapter.check_public_place(str(value))
        except ForumUnavailable:
            raise
        except ForumError as exc:
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} {value}: the forum refused it ({exc})") from None


def _set_state(state: ProgramState) -> Command:
    def cmd(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
        """Move the program to this state."""
        with transaction(env.sessions) as session:
            program = service.set_state(session, service.get_program(session, args.id), state)
            doc = _program_doc(program)
        text = f"program {doc['id']} is {doc['state']}"
        if doc["state"] == ProgramState.OPEN:
            text += "; " + _invite_groups(env, program)
        return doc, text

    return cmd


def _invite_groups(env: CommandEnv, program: Program) -> str:
    """Sign up the program's group members now; what `program open` says of it."""
    adapter = adapter_factory(
        env.sessions, Clock(), wait=True, allowed_hosts=env.config.allowed_internal_hosts
    )(program.forum_id)
    try:
        invited = reconcile_now(env.sessions, adapter, program.id, utcnow(), env.config)
    except (ForumError, ForumUnavailable) as exc:
        # Open all the same: the worker's reconciliation reads the groups on a later pass.
        return (
            f"the forum did not list its groups now ({exc}); the worker invites their "
            f"members {WORKER_NEXT}"
        )
    mentors, mentees = invited[Role.MENTOR], invited[Role.MENTEE]
    return (
        f"invited {_count(mentors, 'mentor')} and {_count(mentees, 'mentee')} from its "
        f"groups; the worker sends each their sign-up link {WORKER_NEXT}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def cmd_program_list(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`program list`: every program."""
    with reading(env.sessions) as session:
        docs = [
            {"id": p.id, "title": p.title, "state": p.state} for p in service.list_programs(session)
        ]
    text = "\n".join(f"{d['id']}\t{d['state']}\t{d['title']}" for d in docs)
    return {"programs": docs}, text or "no programs yet"


def cmd_pair(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`pair`: pair a mentor and a mentee by hand."""
    from plugin.domain.pair_status import describe
    from plugin.domain.pairs import pair_by_usernames

    with transaction(env.sessions) as session:
        program = service.get_program(session, args.program)
        pair = pair_by_usernames(session, program, args.mentor, args.mentee, utcnow())
        doc = describe(session, pair)
    return doc, (
        f"paired {doc['mentor']} with {doc['mentee']} (pair {doc['id']}); "
        f"the worker posts the introduction {WORKER_NEXT}"
    )


def cmd_match(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`match`: propose pairings for those waiting, or apply them."""
    from plugin.domain.proposals import apply_proposals, propose
    from plugin.domain.unmatched import tell_unmatched

    told = 0
    with transaction(env.sessions) as session:
        program = service.get_program(session, args.program)
        result = propose(session, program)
        if args.apply:
            now = utcnow()
            apply_proposals(session, program, result, now)
            paired = {p[k] for p in result["pairs"] for k in ("mentor_signup", "mentee_signup")}
            # Keyed by this apply's moment: a later apply tells them again, a retry does not.
            told = tell_unmatched(session, program, paired, f"match-{now.isoformat()}")
    lines = [f"{p['mentor']} + {p['mentee']}  {p['score']}" for p in result["pairs"]]
    lines.append(_match_next(args, result))
    if told:
        lines.append(
            f"{told} member{'s' if told != 1 else ''} still waiting will hear so privately "
            f"{WORKER_NEXT}"
        )
    return result, "\n".join(lines)


def _match_next(args: argparse.Namespace, result: dict) -> str:
    """What `match` leads to: the pairs made, how to make them, or why there are none."""
    waiting = ", ".join(str(u) for u in result["unmatched"])
    if not result["pairs"]:
        if waiting:
            return (
                f"nobody can be paired right now: no mentor with room left fits {waiting} "
                "(capacity, time zones or an earlier pairing rule them out)"
            )
        return "nobody can be paired right now: no mentee is waiting for a mentor"
    if args.apply:
        count = len(result["pairs"])
        made = f"{count} pair{'s' if count != 1 else ''} created"
        return f"{made}; the worker posts the introductions {WORKER_NEXT}"
    return (
        f"run `mentorship match --program {args.program} --apply` to create these pairs, "
        f"or `mentorship pair --program {args.program} --mentor NAME --mentee NAME` "
        "to pair by hand"
    )


def cmd_status(args: argparse.Namespace, env: CommandEnv) -> tuple[Any, str]:
    """`status`: a program's numbers at a glance."""
    from plugin.domain.pair_status import describe

    with reading(env.sessions) as session:
        program = service.get_program(session, args.program)
        signups = session.execute(
            select(Signup, Member)
            .join(Signup.member)
            .where(Signup.program_id == program.id)
            .order_by(Signup.id)
        ).all()
        pairs = (
            session.execute(select(Pair).where(Pair.program_id == program.id).order_by(Pair.id))
            .scalars()
            .all()
        )
        doc: dict[str, Any] = {
            "program": _program_doc(program),
            "signups": [
                {
                    "user": m.username,
                    "role": s.role,
                    "state": s.state,
                    "topics": s.topics,
                    "timezone": s.timezone,
                    "capacity": s.capacity if s.role == Role.MENTOR else None,
                    "age_confirmed": s.age_confirmed,
                }
                for s, m in signups
            ],
            "pairs": [describe(session, p) for p in pairs],
            "reports": _report_count(session, program.id),
            "requests": [
                {k: r[k] for k in ("mentor", "mentee", "state")}
                for r in requests.listed(session, program)
            ],
        }
    lines = [f"{doc['program']['title']} ({doc['program']['state']})"]
    lines += [f"  {s['role']:6} {s['user']}: {s['state']}" for s in doc["signups"]]
    lines += [
        f"  pair {p['id']}: {p['mentor']} + {p['mentee']}, {p['state']}, step {p['step']}"
        for p in doc["pairs"]
    ]
    return doc, "\n".join(lines)


def _report_count(session: Session, program_id: int) -> int:
    try:
        from plugin.storage.models import Report
    except ImportError:
        return 0
    return session.execute(
        select(func.count()).select_from(Report).where(Report.program_id == program_id)
    ).scalar_one()


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _templates_epilog() -> str:
    """The shipped templates, read from templates/programs, each with its title."""
    lines = ["templates (--template):"]
    for path in sorted(data_path("templates/programs").glob("*.json")):
        try:
            title = str(json.loads(path.read_text(encoding="utf-8"))["title"])
        except (OSError, ValueError, KeyError, TypeError):
            title = "(unreadable)"
        lines.append(f"  {path.stem:12} {title}")
    lines.append("or the path of a JSON file in the same format as templates/programs/*.json")
    return "\n".join(lines)


def register(top: Any, leaf: Callable[..., argparse.ArgumentParser]) -> None:
    """Add program, pair, match and status to the parser."""
    program = top.add_parser(
        "program", help="mentorship programs", description="Create, open, close, list programs."
    ).add_subparsers(dest="sub", required=True)
    p = leaf(
        program,
        "create",
        cmd_program_create,
        "create a draft program from a template (its groups are checked with the forum)",
        _templates_epilog(),
    )
    p.add_argument("--forum", required=True, help="the forum's name (`mentorship forum list`)")
    p.add_argument("--group", required=True, help="the community group whose members may join")
    p.add_argument("--template", required=True, help="a template's name (below) or a file path")
    p.add_argument("--mentor-group", required=True, help="the group mentors join to sign up")
    p.add_argument("--mentee-group", required=True, help="the group mentees join to sign up")
    p.add_argument("--title", help="the program's title (default: the template's title)")
    p.add_argument("--cadence-days", type=float, default=7.0, help="days between steps")
    p.add_argument(
        "--admins",
        help="usernames who receive reports, comma-separated (default: the forum's admins)",
    )
    p.add_argument(
        "--language",
        metavar="CODE",
        help=f"what members read: one of {supported_list()}; a member whose forum account "
        "names a supported language gets that one (default: the forum's language, else en)",
    )
    p.add_argument(
        "--self-service",
        action="store_true",
        help="mentees choose a mentor from the program's directory; the mentor accepts or "
        "declines (admins may still pair by hand and match)",
    )
    p.add_argument(
        "--space",
        choices=[s.value for s in Space],
        default=Space.PM.value,
        help="where each pair talks: pm, a private message (default); chat, a chat "
        "direct-message channel (where the forum offers one)",
    )
    place = p.add_mutually_exclusive_group()
    place.add_argument(
        "--public-category",
        type=_positive_int,
        metavar="ID",
        help="a forum with categories: the category where `!ask` opens members' questions "
        "as topics, created as the member",
    )
    place.add_argument(
        "--public-stream",
        metavar="NAME",
        help="a forum with streams: the stream where `!ask` posts members' questions, "
        "by the bot naming the member",
    )
    for name, state in (("open", ProgramState.OPEN), ("close", ProgramState.CLOSED)):
        p = leaf(program, name, _set_state(state), f"{name} a program")
        p.add_argument("id", type=_positive_int, help="the program's id (`program list`)")
    leaf(program, "list", cmd_program_list, "list programs")

    p = leaf(top, "pair", cmd_pair, "pair a ready mentor and mentee by hand")
    p.add_argument("--program", required=True, type=_positive_int, help="the program's id")
    p.add_argument("--mentor", required=True, help="the mentor's username")
    p.add_argument("--mentee", required=True, help="the mentee's username")

    p = leaf(top, "match", cmd_match, "propose (and with --apply, create) pairings")
    p.add_argument("--program", required=True, type=_positive_int, help="the program's id")
    p.add_argument("--apply", action="store_true", help="create the proposed pairs")

    p = leaf(top, "status", cmd_status, "a program's sign-ups and pairs")
    p.add_argument("--program", required=True, type=_positive_int, help="the program's id")
