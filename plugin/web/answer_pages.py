"""GET/POST /answer/<token>: a mentor accepts or declines a request from a signed link.

For members who never type commands: the message asking the mentor carries two links,
accept and decline (plugin/domain/requests.py answer_links). GET only shows what the link
will do, with a button, so a link preview or a mail scanner that follows it answers
nothing; the POST does it, carrying a signed form token naming the request and the answer.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from plugin.domain import requests as mentor_requests
from plugin.domain.reader import member_language
from plugin.storage.db import reading, transaction
from plugin.storage.models import utcnow
from plugin.storage.secretbox import signing_keys
from plugin.storage.states import RequestState
from plugin.web import lang

bp = Blueprint("answer", __name__)
FORM_SALT = "mentorship.answer-form"
FORM_SECONDS = 86400


def _form_ok(csrf: URLSafeTimedSerializer, request_id: int, action: str) -> bool:
    """Whether the POST carries the form token this page gave for this request and answer."""
    try:
        sent = csrf.loads(request.form.get("csrf_token", ""), max_age=FORM_SECONDS)
    except BadSignature:
        return False
    return sent == [request_id, action]


@bp.route("/answer/<token>", methods=["GET", "POST"])
def answer(token: str) -> ResponseReturnValue:
    """Show what the link answers, or answer it."""
    services = current_app.extensions["mentorship"]
    secret = services.config.secret_key
    csrf = URLSafeTimedSerializer(signing_keys(secret), salt=FORM_SALT)
    headers = {"Cache-Control": "no-store"}
    manager = reading if request.method == "GET" else transaction
    with manager(services.sessions) as session:
        found = mentor_requests.request_of_token(session, secret, token)
        if found is None:
            return render_template("answer.html", invalid=True), 404, headers
        req, action = found
        lang.use(member_language(req.mentor.member, req.program))
        page = {
            "action": action,
            "mentee": req.mentee.member.name or req.mentee.member.username or "",
            "program_title": req.program.title,
            "capacity": req.mentor.capacity,
            "csrf_token": csrf.dumps([req.id, action]),
        }
        if request.method == "GET":
            is_open = req.state == RequestState.OPEN
            outcome = None if is_open else mentor_requests.Outcome.ANSWERED.value
            return render_template("answer.html", outcome=outcome, **page), 200, headers
        if not _form_ok(csrf, req.id, action):
            error = lang.gettext("Please send the form again.")
            return render_template("answer.html", error=error, **page), 400, headers
        outcome = mentor_requests.answer(session, req, action, utcnow())
        return render_template("answer.html", outcome=outcome.value, **page), 200, headers
