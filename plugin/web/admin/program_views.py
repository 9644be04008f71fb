"""Program pages: create from a template, preview and edit the steps, open, close."""

from __future__ import annotations

from babel import Locale
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from plugin import i18n
from plugin.domain.programs import service
from plugin.domain.programs.language import program_language
from plugin.domain.programs.template_files import BUILTIN, ProgramTemplate, load_template
from plugin.engine.adapter import BudgetExhausted, ForumError
from plugin.engine.clock import Clock
from plugin.forums import registry
from plugin.forums.connections import InputError, adapter_factory
from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum, Program
from plugin.storage.states import ProgramState, Space
from plugin.web.admin.auth import Admin, signed_in_admin
from plugin.web.admin.people import rating_summary, running_pairs
from plugin.web.admin.programs import cadence, program_for, save_steps, steps_from_form
from plugin.web.admin.views import bp, page, services
from plugin.web.lang import current, gettext

FIELDS = (
    "template",
    "title",
    "language",
    "group",
    "mentor_group",
    "mentee_group",
    "cadence_days",
    "admins",
    "self_service",  # a checkbox: "on" when ticked
    "space",  # where pairs talk: shown only where the forum offers more than one space
)


def _forum_staff() -> Admin:
    admin = signed_in_admin()
    if not admin.is_forum_staff:
        abort(403, gettext("Only the forum's admins and moderators create programs."))
    return admin


def _forum(admin: Admin) -> Forum:
    """The forum the admin signed in through."""
    with reading(services().sessions) as db:
        return db.get_one(Forum, admin.forum_id)


def _chosen_space(value: str, offered: tuple[Space, ...]) -> Space | None:
    """The space the form chose if the forum offers it (none chosen: its default), else None."""
    if not value:
        return offered[0]
    return next((space for space in offered if space.value == value), None)


def space_words(forum_kind: str, space: Space) -> str:
    """What this forum calls a pair space, in the page's language ("private messages")."""
    kind = registry.kind_of(forum_kind)
    words = kind.space_words.get(space, {}) if kind else {}
    return words.get(current()) or words.get(i18n.DEFAULT) or space.value


def _templates() -> list[ProgramTemplate]:
    return [load_template(key) for key in BUILTIN]


def _languages() -> list[tuple[str, str]]:
    """(code, the language's own name) for the new-program form: "Deutsch", not "German"."""
    return [(code, Locale.parse(code).get_display_name(code) or code) for code in i18n.LANGUAGES]


@bp.get("/programs/new")
def program_new() -> ResponseReturnValue:
    """The form for a new program (forum staff only)."""
    offered = registry.spaces(_forum(_forum_staff()).kind)
    form = {"template": BUILTIN[0], "cadence_days": "7", "space": offered[0]}
    return _form_again(form, offered, None, 200)


def _ask_forum(
    forum: Forum, form: dict[str, str], space: Space
) -> tuple[service.Resolved, str, str | None]:
    """The groups and admins the form names, the program's language, and any doubt the forum
    has about a chat space (service.chat_doubt), from the forum."""
    allowed = services().config.allowed_internal_hosts
    adapter = adapter_factory(services().sessions, Clock(), allowed_hosts=allowed)(forum.id)
    doubt = service.chat_doubt(adapter, space)
    resolved = service.resolve(
        adapter,
        group=form["group"],
        mentor_group=form["mentor_group"],
        mentee_group=form["mentee_group"],
        admins=[a.strip() for a in form["admins"].split(",") if a.strip()] or None,
    )
    # Empty: the forum's own language.
    return resolved, program_language(adapter, form["language"] or None), doubt


def _form_again(
    form: dict[str, str], offered: tuple[Space, ...], error: str | None, status: int
) -> ResponseReturnValue:
    """The new-program form (again, as typed, with why it was refused)."""
    return page(
        "program_new.html",
        status,
        form=form,
        templates=_templates(),
        languages=_languages(),
        spaces=offered,  # the form offers a choice only where there is more than one
        error=error,
    )


@bp.post("/programs/new")
def program_create() -> ResponseReturnValue:
    """Create a draft program from the form, its groups checked with the forum."""
    forum = _forum(_forum_staff())
    offered = registry.spaces(forum.kind)
    form = {k: request.form.get(k, "").strip() for k in FIELDS}
    form["space"] = form["space"] or offered[0]

    def again(error: str, status: int) -> ResponseReturnValue:
        return _form_again(form, offered, error, status)

    if form["template"] not in BUILTIN:
        return again(gettext("Choose one of the templates."), 400)
    if form["language"] and form["language"] not in i18n.LANGUAGES:
        return again(gettext("Choose one of the languages."), 400)
    space = _chosen_space(form["space"], offered)
    if space is None:  # a value the form never offered on this forum (a forged or old form)
        return again(gettext("Choose one of the places where pairs can talk on this forum."), 400)
    try:
        days = cadence(form["cadence_days"] or "7")
    except ValueError as exc:
        return again(str(exc), 400)
    if not (form["group"] and form["mentor_group"] and form["mentee_group"]):
        return again(gettext("Name the host group, the mentor group and the mentee group."), 400)
    # The forum is asked before any write transaction opens (see plugin.storage.db.reading).
    try:
        resolved, language, doubt = _ask_forum(forum, form, space)
    except InputError as exc:
        return again(str(exc), 400)
    except BudgetExhausted:
        return again(
            gettext("The forum's request budget is used up for now; try again in a minute."), 503
        )
    except ForumError as exc:
        return again(gettext("The forum did not answer as expected: %(why)s", why=str(exc)), 502)
    with transaction(services().sessions) as db:
        program = service.create_program(
            db,
            forum,
            resolved,
            template=form["template"],
            title=form["title"],
            cadence_days=days,
            language=language,
            self_service=form["self_service"] == "on",
            space=space,
        )
        program_id = program.id
    flash(gettext("Program created as a draft. Check the steps, then open it for sign-ups."))
    if doubt:  # created all the same, as on the command line
        flash(gettext("Pairs may not be able to talk in chat on this forum: %(why)s", why=doubt))
    return redirect(url_for("admin.program", program_id=program_id), 303)


def _program_page(
    db: Session, p: Program, steps: list[dict], error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    """The program page: what it is, its ratings so far and its steps (as edited, on errors)."""
    average, rated = rating_summary(db, p)
    return page(
        "program.html",
        status,
        program=p,
        info=service.describe(p),
        space=space_words(p.forum.kind, p.space),
        steps=steps,
        error=error,
        average=average,
        rated=rated,
    )


@bp.get("/programs/<int:program_id>")
def program(program_id: int) -> ResponseReturnValue:
    """One program: what it is, its ratings and its steps."""
    with reading(services().sessions) as db:
        p = program_for(db, signed_in_admin(), program_id)
        return _program_page(db, p, service.steps(p))


@bp.post("/programs/<int:program_id>/steps")
def program_steps(program_id: int) -> ResponseReturnValue:
    """Save the edited steps of a program that is still a draft."""
    with transaction(services().sessions) as db:
        p = program_for(db, signed_in_admin(), program_id)
        if p.state != ProgramState.DRAFT:
            abort(409, gettext("Steps can be edited only before the program opens."))
        steps = steps_from_form(request.form)
        try:
            dropped = save_steps(p, steps)
        except ValueError as exc:  # nothing was changed: save_steps validates first
            return _program_page(db, p, steps, str(exc), 400)
    flash(gettext("Steps saved."))
    if dropped:
        flash(
            gettext(
                "The number of steps changed, so the other languages' steps were removed "
                "(%(languages)s): members read these steps.",
                languages=", ".join(dropped),
            )
        )
    return redirect(url_for("admin.program", program_id=program_id), 303)


def _set_state(program_id: int, state: ProgramState, done: str) -> ResponseReturnValue:
    with transaction(services().sessions) as db:
        p = program_for(db, signed_in_admin(), program_id)
        try:
            service.set_state(db, p, state)
        except InputError as exc:
            abort(409, str(exc))
    flash(done)
    return redirect(url_for("admin.program", program_id=program_id), 303)


@bp.post("/programs/<int:program_id>/open")
def program_open(program_id: int) -> ResponseReturnValue:
    """Open the program for sign-ups."""
    return _set_state(
        program_id, ProgramState.OPEN, gettext("The program is open: members can sign up.")
    )


@bp.get("/programs/<int:program_id>/close")
def program_close_confirm(program_id: int) -> ResponseReturnValue:
    """Say what closing the program does, and ask before doing it."""
    with reading(services().sessions) as db:
        p = program_for(db, signed_in_admin(), program_id)
        if p.state == ProgramState.CLOSED:
            flash(gettext("The program is already closed."))
            return redirect(url_for("admin.program", program_id=program_id), 303)
        running = running_pairs(db, p)
    return page("program_close.html", program=p, running=running)


@bp.post("/programs/<int:program_id>/close")
def program_close(program_id: int) -> ResponseReturnValue:
    """Close the program to new sign-ups and pairs (once confirmed); pairs go on."""
    return _set_state(
        program_id,
        ProgramState.CLOSED,
        gettext("The program is closed: no new sign-ups or pairs; pairs go on."),
    )
