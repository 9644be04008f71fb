"""GET/POST /directory/<token>: a self-service mentee's mentors, and their request to one."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from plugin import i18n
from plugin.domain.directory import (
    MAX_MESSAGE,
    MAX_TOPIC,
    REQUEST_DAYS,
    RequestRefused,
    accepts_requests,
    mentors_for,
    open_request,
    open_request_of,
)
from plugin.domain.signups import signup_from_directory_token
from plugin.i18n import N_
from plugin.storage.db import reading, transaction
from plugin.storage.models import Signup, utcnow
from plugin.storage.secretbox import signing_keys
from plugin.web import lang

bp = Blueprint("directory", __name__)
FORM_SALT = "mentorship.directory-form"
FORM_MAX_AGE = 24 * 3600
HEADERS = {"Cache-Control": "no-store"}


def _csrf() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(current_app.config["SECRET_KEY"]), salt=FORM_SALT)


def _page(
    session: Session,
    mentee: Signup,
    *,
    error: str | None = None,
    sent_to: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    topic = request.args.get("topic", "")[:MAX_TOPIC]
    waiting_for = open_request_of(session, mentee)
    html = render_template(
        "directory.html",
        program_title=mentee.program.title,
        name=mentee.member.name or mentee.member.username,
        topic=topic,
        mentors=mentors_for(session, mentee, topic),
        open=accepts_requests(mentee.program) and mentee.state == "ready",
        waiting_for=waiting_for.mentor.member.name or waiting_for.mentor.member.username
        if waiting_for
        else None,
        error=error,
        sent_to=sent_to,
        chosen=request.form.get("mentor", ""),
        message=request.form.get("message", "") if sent_to is None else "",
        max_message=MAX_MESSAGE,
        days=REQUEST_DAYS,
        csrf_token=_csrf().dumps(mentee.id),
    )
    return html, status, HEADERS


def _form_ok(mentee: Signup) -> bool:
    try:
        return bool(
            _csrf().loads(request.form.get("csrf_token", ""), max_age=FORM_MAX_AGE) == mentee.id
        )
    except BadSignature:
        return False


@bp.route("/directory/<token>", methods=["GET", "POST"])
def directory(token: str) -> ResponseReturnValue:
    """Show the mentee's directory, or open their request to the mentor they chose."""
    services = current_app.extensions["mentorship"]
    manager = reading if request.method == "GET" else transaction
    with manager(services.sessions) as session:
        mentee = signup_from_directory_token(session, services.config.secret_key, token)
        if mentee is None or not mentee.program.self_service:
            page = render_template("link_invalid.html", command=N_("!directory"))
            return page, 404, HEADERS
        lang.use(i18n.for_member(mentee.member.locale, mentee.program.language))
        if request.method == "GET":
            return _page(session, mentee)
        if not _form_ok(mentee):
            error = lang.gettext("This form has expired; please submit it again.")
            return _page(session, mentee, error=error, status=400)
        if not request.form.get("mentor", "").strip():
            return _page(session, mentee, error=lang.gettext("Please choose a mentor."), status=400)
        try:
            asked = open_request(
                session, mentee, request.form["mentor"], request.form.get("message", ""), utcnow()
            )
        except RequestRefused as refused:
            return _page(session, mentee, error=lang.shown(refused.message), status=refused.status)
        mentor = asked.mentor.member
        return _page(session, mentee, sent_to=mentor.name or mentor.username)
