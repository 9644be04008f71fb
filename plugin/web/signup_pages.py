"""GET/POST /signup/<token>: the member's sign-up form."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from zoneinfo import available_timezones

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from plugin import i18n
from plugin.domain.signups import ProfileError, save_profile, signup_from_token
from plugin.i18n import N_
from plugin.storage.db import reading, transaction
from plugin.storage.models import Member, Program, Signup, utcnow
from plugin.storage.secretbox import signing_keys
from plugin.web import lang

bp = Blueprint("signup", __name__)
FORM_SALT = "mentorship.signup-form"
FORM_MAX_AGE = 24 * 3600


@cache
def _timezones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def _csrf(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(secret), salt=FORM_SALT)


def _page(
    signup: Signup,
    program: Program,
    member: Member,
    *,
    form: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    lang.use(i18n.for_member(member.locale, program.language))
    values = form or {
        "about": signup.about or "",
        "topics": signup.topics or "",
        "timezone": signup.timezone or "",
        "capacity": str(signup.capacity or 1),
        "age_confirmed": "on" if signup.age_confirmed else "",
    }
    html = render_template(
        "signup.html",
        program_title=program.title,
        role=signup.role,
        name=member.name or member.username,
        form=values,
        errors=errors or {},
        done=done,
        timezones=_timezones(),
        csrf_token=_csrf(secret).dumps(signup.id),
    )
    return html, status, {"Cache-Control": "no-store"}


def _invalid() -> ResponseReturnValue:
    page = render_template("link_invalid.html", command=N_("!signup"))
    return page, 404, {"Cache-Control": "no-store"}


@bp.route("/signup/<token>", methods=["GET", "POST"])
def signup(token: str) -> ResponseReturnValue:
    """Show the form, or save it."""
    services = current_app.extensions["mentorship"]
    secret = services.config.secret_key
    if request.method == "GET":
        with reading(services.sessions) as session:
            signup = signup_from_token(session, secret, token)
            if signup is None:
                return _invalid()
            program, member = signup.program, signup.member
            return _page(signup, program, member)
    form = {
        k: request.form.get(k, "")
        for k in ("about", "topics", "timezone", "capacity", "age_confirmed")
    }
    with transaction(services.sessions) as session:
        signup = signup_from_token(session, secret, token)
        if signup is None:
            return _invalid()
        program, member = signup.program, signup.member
        try:
            ok = _csrf(secret).loads(request.form.get("csrf_token", ""), max_age=FORM_MAX_AGE)
        except BadSignature:
            ok = None
        if ok != signup.id:
            return _page(
                signup,
                program,
                member,
                form=form,
                status=400,
                errors={"form": lang.gettext("This form has expired; please submit it again.")},
            )
        try:
            save_profile(signup, form, utcnow())
        except ProfileError as exc:
            return _page(signup, program, member, form=form, errors=exc.errors, status=400)
        return _page(signup, program, member, form=form, done=True)
