"""The `mentorship` command (docs/operator-interface.md): one-line errors, exit 2 or 1."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config, ConfigError, load_config, log_format
from plugin.engine.adapter import ForumError, ForumUnavailable
from plugin.engine.clock import Clock, parse_instant
from plugin.forums import registry
from plugin.forums.connections import (
    InputError,
    Unanswered,
    add_forum,
    check_connection,
    describe,
    get_forum,
    new_forum,
    require_connection,
)
from plugin.forums.kind import Severity
from plugin.forums.tables import METADATA
from plugin.logs import announce, say, setup_logging
from plugin.storage import secretbox
from plugin.storage.db import (
    ensure_schema,
    get_engine,
    reading,
    scrub_old_versions,
    session_factory,
    transaction,
    upgrade,
)
from plugin.storage.models import Forum
from plugin.storage.secretbox import SecretError


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their lines; an option with a default names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or "%(default)" in text:
            return text
        if action.default in (None, False, argparse.SUPPRESS):
            return text  # required options, flags and "unset" say nothing of a default
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (exit 2) like every other error here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)  # subcommands' parsers too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Raise the usage error as an InputError, named by the subcommand."""
        where = self.prog.removeprefix("mentorship").strip()
        raise InputError(f"{where}: {message}" if where else message)


@dataclass
class Env:
    """What a command runs with."""

    config: Config
    sessions: sessionmaker[Session]


Handler = Callable[[argparse.Namespace, Env], tuple[Any, str]]  # (JSON document, text)


def _env(migrate: bool = True) -> Env:
    config = load_config()
    secretbox.configure(config)  # before migrating: 0007 encrypts plain-text secrets
    engine = get_engine(config.database_url)
    if migrate:
        ensure_schema(engine)
    return Env(config, session_factory(engine))


# -- commands ---------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`db upgrade`: migrate the database to the newest schema."""
    upgrade(get_engine(env.config.database_url))
    return {"status": "ok"}, "database is up to date"


def cmd_db_rotate_secrets(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`db rotate-secrets`: re-encrypt every stored secret under the current key."""
    # One transaction: a value no key opens leaves every value as it was.
    engine = get_engine(env.config.database_url)
    tables = secretbox.encrypted_columns(METADATA)
    with engine.begin() as connection:
        rotated = sum(secretbox.reseal_table(connection, t, columns) for t, columns in tables)
    # Values sealed under the old key must not linger in the WAL or as dead row versions.
    scrub_old_versions(engine, [t for t, _ in tables])
    return {"status": "ok", "rotated": rotated}, (
        f"{rotated} stored secrets re-encrypted under the current MENTORSHIP_SECRET_KEY"
    )


def cmd_forum_add(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`forum add`: connect a forum, checked with the forum itself."""
    kind = registry.KINDS[args.kind]
    missing = [f for f in (kind.bot_option, kind.secret_option) if not getattr(args, f)]
    bot, secret = getattr(args, kind.bot_option), getattr(args, kind.secret_option)
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise InputError(f"forum add --kind {args.kind} needs {flags}")
    fields: dict[str, Any] = {
        "kind": args.kind,
        "name": args.name,
        "url": args.url,
        "api_key": args.api_key,
        "bot_user": bot,
        "webhook_secret": secret,
        "connect_secret": args.connect_secret,
        "request_budget": args.request_budget,
        "allowed_hosts": env.config.allowed_internal_hosts,
    }
    notices: list[str] = []
    if not args.no_check:
        # Every argument (the URL rule first) is checked before the forum is asked, and
        # the forum is asked outside any write transaction.
        with reading(env.sessions) as session:
            candidate = new_forum(session, **fields)
        notices = require_connection(candidate, env.config.allowed_internal_hosts)
    try:
        with transaction(env.sessions) as session:
            forum = add_forum(session, **fields)
            doc = describe(env.config.base_url, forum)
    except IntegrityError:  # another `forum add` with this name won the race
        raise InputError(f"a forum named {args.name!r} already exists") from None
    for notice in notices:  # stored all the same: stdout keeps the contract's document
        say("notice", notice)
    return doc, f"forum {doc['name']} added; point its webhooks at {doc['webhook_url']}"


def cmd_forum_check(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`forum check`: ask a stored forum whether its URL, API key and bot user still work."""
    with reading(env.sessions) as session:
        forum = get_forum(session, args.name)
    found = check_connection(forum, env.config.allowed_internal_hosts)
    problems = [p.text for p in found if p.severity is not Severity.NOTICE]
    notices = [p.text for p in found if p.severity is Severity.NOTICE]  # `ok` stays as is
    doc = {"name": forum.name, "ok": not problems, "problems": problems, "notices": notices}
    lines = problems or [f"forum {forum.name}: connection ok"]
    return doc, "\n".join(lines + [f"notice: {n}" for n in notices])


def cmd_forum_list(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`forum list`: every connected forum and its webhook URL."""
    with env.sessions() as session:
        forums = session.execute(select(Forum).order_by(Forum.name)).scalars().all()
        docs = [describe(env.config.base_url, f) for f in forums]
    text = "\n".join(f"{d['name']}\t{d['kind']}\t{d['url']}\t{d['webhook_url']}" for d in docs)
    return {"forums": docs}, text or "no forums yet"


def cmd_worker(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`worker`: run what is due once (--once) or until stopped."""
    from plugin.worker import Worker

    if args.now and not args.once:
        raise InputError("--now only goes with --once")
    clock = Clock(parse_instant(args.now) if args.now else None)
    worker = Worker(env.config, env.sessions, clock)
    if args.once:
        tally = worker.run_once()
        doc = {"status": "ok", "events": tally.events, "calls": tally.calls, "held": tally.held}
        return doc, tally.describe()
    worker.run_forever()
    return {"status": "stopped"}, "worker stopped"


def serve_banner(base_url: str, forums: list[tuple[str, str]]) -> str:
    """What `serve` prints before gunicorn starts: where the pages, webhooks and health are."""
    lines = [
        f"mentorship: admin pages at {base_url}/admin/",
        f"mentorship: webhooks at {base_url}/webhooks/<kind>/<forum name>",
    ]
    lines += [f"mentorship:   {name}: {base_url}/webhooks/{kind}/{name}" for kind, name in forums]
    if not forums:
        lines.append("mentorship:   no forums yet (add one with `mentorship forum add`)")
    lines.append(f"mentorship: health check at {base_url}/healthz")
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace, env: Env) -> tuple[Any, str]:
    """`serve`: the web service under gunicorn, with a worker unless --no-worker."""
    from plugin.serve import serve

    with env.sessions() as session:
        forums = session.execute(select(Forum.kind, Forum.name).order_by(Forum.name)).all()
    banner = serve_banner(env.config.base_url, [(kind, name) for kind, name in forums])
    announce(banner, env.config.log_format)
    serve(
        args.host,
        args.port,
        with_worker=not args.no_worker,
        workers=args.workers,
        log_format=env.config.log_format,
    )
    return {"status": "stopped"}, "stopped"


# -- parser -----------------------------------------------------------------------------


def _leaf(
    sub: Any, name: str, handler: Handler, help_text: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handler)
    return parser


def _instant(text: str) -> str:
    try:
        parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 instant: {text!r}") from None
    return text


def _epilog() -> str:
    """The usual order of commands, and where the README explains each."""
    guides = ", ".join(f'"{kind.guide}"' for kind in registry.KINDS.values() if kind.guide)
    where = f'README.md explains each step: "Quick start", {guides} and "Running a program".'
    return f"""\
the usual order:
  1. mentorship forum add ...             connect the forum (checked with it first)
  2. mentorship program create ...        a draft program from a template
  3. mentorship program open ID           signs up the groups' members
  4. mentorship match --program ID --apply, or mentorship pair ...   pair them
  5. mentorship worker (or serve)         posts invitations, introductions and steps

{textwrap.fill(where, 79)}
Run `mentorship COMMAND --help` for a command's options.
"""


def _add_db(top: Any) -> None:
    db = top.add_parser("db", help="database schema", description="The database schema.")
    dbs = db.add_subparsers(dest="sub", required=True)
    _leaf(dbs, "upgrade", cmd_db_upgrade, "create or migrate the schema")
    _leaf(
        dbs,
        "rotate-secrets",
        cmd_db_rotate_secrets,
        "re-encrypt every stored secret under the current MENTORSHIP_SECRET_KEY",
    )


def _add_processes(top: Any) -> None:
    p = _leaf(top, "serve", cmd_serve, "serve HTTP and run the background worker")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--no-worker", action="store_true", help="HTTP only; run workers elsewhere")
    p.add_argument("--workers", type=int, default=None, help="HTTP processes (default: cores)")

    p = _leaf(top, "worker", cmd_worker, "process events, schedules and forum calls")
    p.add_argument("--once", action="store_true", help="work until nothing is due, then exit")
    p.add_argument("--now", type=_instant, help="with --once: the logical time (ISO-8601)")


def _add_forum(top: Any) -> None:
    forum_parser = top.add_parser(
        "forum", help="connected forums", description="Connect, list and check forums."
    )
    forum = forum_parser.add_subparsers(dest="sub", required=True)
    p = _leaf(
        forum,
        "add",
        cmd_forum_add,
        "connect a forum (its URL, API key and bot user are checked with it first)",
    )
    p.add_argument("--kind", required=True, choices=registry.NAMES, help="the forum software")
    p.add_argument("--name", required=True, help="a short name, used in the webhook URL")
    p.add_argument("--url", required=True, help="the forum's base URL (https://...)")
    p.add_argument("--api-key", required=True, help="the bot's API key on the forum")
    for kind in registry.KINDS.values():  # each forum kind's own options
        for flag, text in kind.cli_options:
            p.add_argument(flag, help=text)
    p.add_argument(
        "--request-budget", type=int, help="API calls per minute (default: manifest.json's)"
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="store without asking the forum (when it is not reachable yet)",
    )
    _leaf(forum, "list", cmd_forum_list, "list connected forums")
    p = _leaf(
        forum,
        "check",
        cmd_forum_check,
        "ask a connected forum whether its URL, API key and bot user still work",
    )
    p.add_argument("name", help="the forum's name (see `mentorship forum list`)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = _Parser(
        prog="mentorship",
        description=f"Guided mentorship programs on your forum ({', '.join(registry.NAMES)}).",
        epilog=_epilog(),
    )
    top = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_db(top)
    _add_processes(top)
    _add_forum(top)
    from plugin.cli import hooks  # hook add, list, remove
    from plugin.cli import programs as commands  # program, pair, match, status

    commands.register(top, _leaf)
    hooks.register(top, _leaf)
    return parser


def run(argv: list[str]) -> int:
    """Parse, run, print; returns the exit code."""
    try:
        configured = setup_logging(log_format())  # before anything can log or fail
    except ConfigError as exc:
        return _fail(str(exc), 2)
    try:
        args = build_parser().parse_args(argv)
        long_running = args.handler is cmd_serve or (args.handler is cmd_worker and not args.once)
        if configured and long_running:
            logging.getLogger().setLevel(logging.INFO)  # a service says what it does
        env = _env(migrate=args.handler is not cmd_db_upgrade)
        doc, text = args.handler(args, env)
    except (InputError, ConfigError) as exc:
        return _fail(str(exc), 2)
    except Unanswered as exc:
        return _fail(str(exc), 1)
    except ForumUnavailable as exc:
        return _fail(f"the forum did not answer: {exc}", 1)
    except ForumError as exc:
        return _fail(f"the forum refused: {exc}", 1)
    except SecretError as exc:
        return _fail(str(exc), 1)
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        if isinstance(orig, SecretError):  # raised while binding
            return _fail(str(orig), 1)
        return _fail(f"database error: {str(exc).splitlines()[0]}", 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 1)
    except Exception as exc:  # noqa: BLE001 - never a traceback, always one line
        return _fail(f"{type(exc).__name__}: {exc}", 1)
    if args.json:
        print(json.dumps(doc, default=str))
    elif text:
        print(text)
    return 0


def _fail(message: str, code: int) -> int:
    say("error", message)
    return code


def main() -> None:
    """Console entry point."""
    sys.exit(run(sys.argv[1:]))
