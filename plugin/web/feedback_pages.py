"""GET/POST /feedback/<token>: a member rates a completed pairing (1 to 5, optional word)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import i18n
from plugin.domain.journey import read_feedback_token
from plugin.domain.signups import MAX_TOKEN, text_error
from plugin.i18n import N_
from plugin.storage.db import reading, transaction
from plugin.storage.models import Feedback, Member, Pair, Program
from plugin.storage.secretbox import signing_keys
from plugin.web import lang

bp = Blueprint("feedback", __name__)
FORM_SALT = "mentorship.feedback-form"
MAX_COMMENT = 1000


def _lookup(session: Session, token: str) -> tuple[Pair, Member, Program] | None:
    if len(token) > MAX_TOKEN or not token.isascii():
        return None  # not one of ours: no need to check a signature
    ids = read_feedback_token(current_app.config["SECRET_KEY"], token)
    if ids is None:
        return None
    pair, member = session.get(Pair, ids[0]), session.get(Member, ids[1])
    if pair is None or member is None or member.erased:
        return None
    members = {pair.mentor.member_id, pair.mentee.member_id}
    return (pair, member, pair.program) if member.id in members else None


def _comment() -> str:
    # Browsers send a textarea's line breaks as CRLF but count them as one toward maxlength.
    return (request.form.get("comment") or "").replace("\r\n", "\n").strip()


def _form_error(csrf: URLSafeTimedSerializer, pair_id: int) -> str | None:
    """Why this rating form cannot be saved, or None."""
    try:
        ok = csrf.loads(request.form.get("csrf_token", ""), max_age=86400) == pair_id
    except BadSignature:
        ok = False
    if not ok:
        return lang.gettext("Please send the form again.")
    if request.form.get("rating", "") not in {"1", "2", "3", "4", "5"}:
        return lang.gettext("Please choose a rating from 1 to 5.")
    return text_error(_comment(), MAX_COMMENT, N_("your comment"))


@bp.route("/feedback/<token>", methods=["GET", "POST"])
def feedback(token: str) -> ResponseReturnValue:
    """Show the rating form, or save it."""
    services = current_app.extensions["mentorship"]
    csrf = URLSafeTimedSerializer(signing_keys(services.config.secret_key), salt=FORM_SALT)
    headers = {"Cache-Control": "no-store"}
    manager = reading if request.method == "GET" else transaction
    with manager(services.sessions) as session:
        found = _lookup(session, token)
        if found is None:
            return render_template("feedback_link_invalid.html"), 404, headers
        pair, member, program = found
        lang.use(i18n.for_member(member.locale, program.language))
        page = {
            "program_title": program.title,
            "csrf_token": csrf.dumps(pair.id),
            "rating": request.form.get("rating", ""),
            "comment": request.form.get("comment", ""),
        }
        if request.method == "GET":
            return render_template("feedback.html", **page), 200, headers
        error = _form_error(csrf, pair.id)
        if error:
            return render_template("feedback.html", error=error, **page), 400, headers
        row = session.execute(
            select(Feedback).where(Feedback.pair_id == pair.id, Feedback.member_id == member.id)
        ).scalar_one_or_none()
        if row is None:
            row = Feedback(pair_id=pair.id, member_id=member.id, rating=0)
            session.add(row)
        row.rating = int(request.form["rating"])
        row.comment = _comment() or None
        return render_template("feedback.html", done=True, **page), 200, headers
