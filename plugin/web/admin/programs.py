"""Helpers the program pages share: loading a program the admin may see, form parsing."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from flask import abort
from sqlalchemy.orm import Session

from plugin.domain.programs import service
from plugin.domain.programs.template_files import (
    MAX_STEPS,
    TemplateError,
)
from plugin.storage.models import Program
from plugin.web.admin.auth import Admin, administers
from plugin.web.lang import gettext

MAX_CADENCE_DAYS = 365.0  # longer cadences overflow the step schedule's datetimes


def program_for(db: Session, admin: Admin, program_id: int) -> Program:
    """The program if this admin administers it: 404 if there is none, else 403."""
    program = db.get(Program, program_id)
    if program is None:
        abort(404, gettext("There is no such program."))
    if not administers(admin, program):
        abort(403, gettext("You do not administer this program."))
    return program


def cadence(text: str) -> float:
    """Days between steps from the form; ValueError with a message for people."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(gettext("Days between steps must be a number, e.g. 7 or 0.5.")) from None
    if not math.isfinite(value) or not 0 < value <= MAX_CADENCE_DAYS:
        raise ValueError(
            gettext(
                "Days between steps must be above 0 and at most %(max)s.",
                max=f"{MAX_CADENCE_DAYS:g}",
            )
        )
    return value


def steps_from_form(form: Mapping[str, str]) -> list[dict]:
    """The steps as the form sends them: existing ones (unless removed), then a new one."""
    try:
        count = min(int(form.get("count", "0")), MAX_STEPS)
    except ValueError:
        count = 0
    keys = [str(i) for i in range(count)] + ["new"]
    steps = []
    for key in keys:
        if form.get(f"remove-{key}"):
            continue
        title = form.get(f"title-{key}", "")
        points = [line.strip() for line in form.get(f"discussion-{key}", "").splitlines()]
        tip = form.get(f"tip-{key}", "")
        if key == "new" and not (title.strip() or any(points) or tip.strip()):
            continue  # the empty "add a step" block
        steps.append({"title": title, "discussion": [p for p in points if p], "tip": tip})
    return steps


def _for_people(message: str) -> str:
    # The validator speaks file paths ("steps[2].tip"); the form has numbered steps.
    message = re.sub(r"steps\[(\d+)\]", lambda m: f"step {int(m.group(1)) + 1}", message)
    return (
        message.replace(".discussion", " discussion")
        .replace(".title", " title")
        .replace(".tip", " tip")
    )


def save_steps(program: Program, steps: list[dict]) -> list[str]:
    """Store the steps of the program's language; the languages dropped (ValueError if bad).

    The page edits the steps members of the program's language read. A changed number of
    steps drops the other languages (they no longer line up week by week).
    """
    try:
        return service.save_steps(program, steps)
    except TemplateError as exc:
        raise ValueError(_for_people(str(exc))) from None
