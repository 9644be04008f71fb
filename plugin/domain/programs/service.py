"""Programs: created from a template in a forum group, opened for sign-ups, closed."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain.programs.template_files import (
    ProgramTemplate,
    TemplateError,
    load_template,
    parse_template,
    pick_language,
    stored_languages,
    stored_text,
    template_to_dict,
    with_steps,
)
from plugin.engine.adapter import (
    ForumAdapter,
    ForumError,
    ForumGroup,
    ForumNotFound,
    ForumUser,
)
from plugin.forums.connections import InputError
from plugin.i18n import DEFAULT, language_of, supported_list
from plugin.storage.models import Forum, Program
from plugin.storage.states import ProgramState, Space

STATES = tuple(ProgramState)

log = logging.getLogger(__name__)


def _group(adapter: ForumAdapter, name: str, flag: str) -> ForumGroup:
    try:
        return adapter.get_group(name)
    except ForumNotFound:
        raise InputError(f"{flag}: the forum has no group named {name!r}") from None


@dataclass(frozen=True)
class Resolved:
    """A program's groups and admins as the forum knows them."""

    group: ForumGroup
    mentors: ForumGroup
    mentees: ForumGroup
    admins: list[ForumUser]  # with their forum user ids: a username can change hands


def resolve(
    adapter: ForumAdapter,
    *,
    group: str,
    mentor_group: str,
    mentee_group: str,
    admins: list[str] | None,
) -> Resolved:
    """Look the groups (and admins) up on the forum; unknown ones are input errors."""
    if len({group, mentor_group, mentee_group}) != 3:
        raise InputError(
            "--group, --mentor-group and --mentee-group must be three different groups"
        )
    host = _group(adapter, group, "--group")
    mentors = _group(adapter, mentor_group, "--mentor-group")
    mentees = _group(adapter, mentee_group, "--mentee-group")
    if len({host.id, mentors.id, mentees.id}) != 3:  # forum names ignore case
        raise InputError(
            "--group, --mentor-group and --mentee-group must be three different groups"
        )
    return Resolved(host, mentors, mentees, _admins(adapter, admins))


def _admins(adapter: ForumAdapter, usernames: list[str] | None) -> list[ForumUser]:
    """`--admins` as the forum knows them (default: its human admins), once each."""
    if not usernames:
        return adapter.list_admins()
    found: dict[int, ForumUser] = {}
    for username in usernames:
        try:
            user = adapter.get_user(username)
        except ForumNotFound:
            raise InputError(f"--admins: the forum has no member {username!r}") from None
        found.setdefault(user.id, user)
    return list(found.values())


def create_program(
    session: Session,
    forum: Forum,
    resolved: Resolved,
    *,
    template: str,
    title: str | None = None,
    cadence_days: float = 7,
    language: str = DEFAULT,
    self_service: bool = False,
    public_category: int | None = None,
    public_stream: str | None = None,
    space: Space = Space.PM,
) -> Program:
    """A draft program in `language`; its groups are resolved so membership events find it."""
    tpl = check_inputs(template, cadence_days)
    code = language_of(language)
    if code is None:
        raise InputError(f"language {language!r} is not supported: use one of {supported_list()}")
    if code not in tpl.languages:
        # A custom file in other languages still makes a program (as it did before issue 13):
        # its members read the steps in English, else in the file's own language.
        log.warning(
            "template %r has no %r steps; members read them in %r",
            template,
            code,
            pick_language(tpl.languages, code),
        )
    program = Program(
        forum_id=forum.id,
        title=(title or tpl.text(code).title).strip()[:200],
        template_key=tpl.key,
        template=json.dumps(template_to_dict(tpl)),
        language=code,
        state=ProgramState.DRAFT,
        group_name=resolved.group.name,
        group_id=resolved.group.id,
        mentor_group_name=resolved.mentors.name,
        mentor_group_id=resolved.mentors.id,
        mentee_group_name=resolved.mentees.name,
        mentee_group_id=resolved.mentees.id,
        cadence_days=float(cadence_days),
        admins=json.dumps([u.username for u in resolved.admins]),
        admin_ids=json.dumps([u.id for u in resolved.admins]),
        self_service=self_service,
        public_category=public_category,
        public_stream=public_stream,
        space=space,
    )
    session.add(program)
    session.flush()
    return program


def chat_doubt(adapter: ForumAdapter, space: Space) -> str | None:
    """The forum's reason against a chat space (chat off, or not for the bot), or None.

    A notice, never a refusal: a forum (or a stand-in for one) that does not answer the check
    as Discourse does may still take the space's own calls; a pair whose space it refuses
    ends before it begins, and the admins hear why (plugin/domain/pair_kinds.py).
    """
    if space != Space.CHAT:
        return None
    try:
        adapter.check_chat()
    except ForumError as exc:
        return str(exc)
    return None


MAX_CADENCE_DAYS = 366


def check_inputs(template: str, cadence_days: float) -> ProgramTemplate:
    """The template and cadence, checked before anything asks the forum."""
    if not (0 < cadence_days <= MAX_CADENCE_DAYS):  # also refuses nan and inf
        raise InputError(f"--cadence-days must be more than 0 and at most {MAX_CADENCE_DAYS}")
    try:
        return load_template(template)
    except TemplateError as exc:
        raise InputError(str(exc)) from None


def get_program(session: Session, program_id: int) -> Program:
    """A program by id, or an InputError."""
    program = session.get(Program, program_id)
    if program is None:
        raise InputError(f"no program with id {program_id} (see `mentorship program list`)")
    return program


def set_state(session: Session, program: Program, state: ProgramState) -> Program:
    """Open or close a program (a closed one cannot reopen: its cohort has moved on)."""
    if state == ProgramState.OPEN and program.state == ProgramState.CLOSED:
        raise InputError(f"program {program.id} is closed and cannot be opened again")
    if program.state != state:
        program.state = state
        if state == ProgramState.OPEN:
            program.reconciled_at = None  # sign up everyone already in the groups, now
    return program


def steps(program: Program, language: str | None = None) -> list[dict]:
    """The program's own copy of its steps, in `language` (default: the program's)."""
    return _text(program, language)["steps"]


def _text(program: Program, language: str | None) -> dict:
    """The stored template's title, description and steps in `language`, else its fallback."""
    return stored_text(json.loads(program.template), language or program.language)


def template_languages(program: Program) -> list[str]:
    """The languages the program's steps are written in, the template's own first."""
    return stored_languages(json.loads(program.template))


def program_title(program: Program, language: str | None = None) -> str:
    """The program's title in `language`: the template's, translated, unless an admin chose one."""
    own = _text(program, program.language)["title"]
    if program.title != own:
        return program.title  # the admin's own title has no translations
    return str(_text(program, language)["title"])


def program_description(program: Program, language: str | None = None) -> str:
    """The template's description of the program, in `language` (with steps' fallback)."""
    return str(_text(program, language)["description"])


def save_steps(program: Program, new_steps: list[dict], language: str | None = None) -> list[str]:
    """Replace the steps members read in `language` (TemplateError if they break the rules).

    Returns the languages dropped: when the number of steps changes, the other languages'
    steps no longer line up week by week, so the edited ones become the only ones.
    """
    language = language or program.language
    data, dropped = with_steps(json.loads(program.template), language, new_steps)
    try:
        parsed = parse_template(data, source="The steps", default_key=program.template_key)
    except TemplateError as exc:
        # The editor shows one language's steps: "translations.de." would only puzzle.
        raise TemplateError(re.sub(r"translations\.\w+\.", "", str(exc))) from None
    program.template = json.dumps(template_to_dict(parsed))
    return dropped


def admins(program: Program) -> list[str]:
    """Usernames who receive reports (for display and messages; access goes by id)."""
    return json.loads(program.admins)


def admin_ids(program: Program) -> set[int]:
    """The forum user ids of the program's admins: who may administer it."""
    return {i for i in json.loads(program.admin_ids or "[]") if isinstance(i, int)}


def forget_admin(program: Program, user_id: int, usernames: set[str]) -> bool:
    """Drop a person from the admins (by id; by casefolded username where no id is known)."""
    names = json.loads(program.admins)
    ids = json.loads(program.admin_ids or "[]")
    ids += [None] * (len(names) - len(ids))  # an old row: names without ids
    keep = [
        (name, uid)
        for name, uid in zip(names, ids, strict=False)
        if uid != user_id and not (uid is None and str(name).casefold() in usernames)
    ]
    if len(keep) == len(names):
        return False
    program.admins = json.dumps([name for name, _ in keep])
    program.admin_ids = json.dumps([uid for _, uid in keep])
    return True


def admin_usernames_of(program: Program, user_id: int) -> list[str]:
    """The usernames the program lists for this forum user id."""
    ids = json.loads(program.admin_ids or "[]")
    return [n for n, uid in zip(json.loads(program.admins), ids, strict=False) if uid == user_id]


def describe(program: Program) -> dict:
    """The operator's view of a program."""
    return {
        "id": program.id,
        "title": program.title,
        "state": program.state,
        "steps": len(steps(program)),
        "language": program.language,
        "template": program.template_key,
        "group": program.group_name,
        "mentor_group": program.mentor_group_name,
        "mentee_group": program.mentee_group_name,
        "cadence_days": program.cadence_days,
        "admins": admins(program),
        "self_service": program.self_service,
        "public_category": program.public_category,
        "public_stream": program.public_stream,
        "space": program.space,
    }


def list_programs(session: Session) -> list[Program]:
    """All programs, oldest first."""
    return list(session.execute(select(Program).order_by(Program.id)).scalars())
