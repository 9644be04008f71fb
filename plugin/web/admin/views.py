"""The `admin` blueprint: the guard every request passes, sign-in and sign-out, the index.

Every route under /admin needs a signed-in admin except the sign-in steps themselves; every
POST needs the session's CSRF token. Page routes live in the *_views modules beside this one.
"""

from __future__ import annotations

import hmac
import math
from typing import Any, Protocol

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from plugin.config import Config
from plugin.domain.admins import LinkClaim
from plugin.forums import registry
from plugin.forums.kind import ForumSignIn, SignedIn, SignInRefused
from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum, utcnow
from plugin.web.admin import csrf
from plugin.web.admin.auth import (
    Person,
    TooManySignIns,
    client_hash,
    consume_nonce,
    current_admin,
    link_used,
    may_enter,
    new_nonce,
    programs_of,
    read_link,
    sign_in,
    sign_out,
    signed_in_admin,
    use_link,
)
from plugin.web.admin.overview import program_counts
from plugin.web.admin.wording import cadence_words
from plugin.web.lang import gettext, ngettext
from plugin.web.words import word

bp = Blueprint("admin", __name__, url_prefix="/admin")


class Services(Protocol):
    """What these pages use of plugin.web.app.Services, which imports them (no cycle)."""

    config: Config
    sessions: sessionmaker[Session]


# Reachable without a session: the steps of signing in.
PUBLIC = {"admin.login", "admin.sso", "admin.link", "admin.link_use"}

# nosniff, no-referrer and the framing ban come from the app factory, for every page.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # No scripts at all; styles are inline in the layout.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def services() -> Services:
    """The app's services (config, sessions) for this request."""
    return current_app.extensions["mentorship"]


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A rendered admin page."""
    return render_template(f"admin/{template}", **context), status


def _safe_next(target: str | None) -> str | None:
    # Only our own admin pages: anything else would make sign-in an open redirect.
    if not target or not target.startswith("/admin/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


@bp.before_request
def guard() -> ResponseReturnValue | None:
    """Signed-out visitors are sent to sign in (GET) or refused (401); POSTs need CSRF."""
    if request.endpoint not in PUBLIC and current_admin() is None:
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        abort(401, gettext("Please sign in first."))
    if request.method == "POST":
        csrf.check()
    return None


@bp.after_request
def headers(response: Response) -> Response:
    """Add the security headers to every admin answer."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.context_processor
def template_globals() -> dict[str, Any]:
    """The CSRF token, the signed-in admin and the wording helpers, for every admin template."""
    return {"csrf_token": csrf.token, "admin": current_admin(), "cadence_words": cadence_words}


@bp.errorhandler(HTTPException)
def error_page(exc: HTTPException) -> ResponseReturnValue:
    """Errors on these pages are pages (the rest of the service answers JSON)."""
    return page("message.html", exc.code or 500, title=word(exc.name), text=exc.description)


def refuse(status: int, text: str) -> ResponseReturnValue:
    """Refuse a sign-in: no session survives it."""
    session.clear()
    return page("message.html", status, title=gettext("Not signed in"), text=text, retry=True)


# -- sign-in through Discourse (DiscourseConnect provider mode) ------------------------------


def _forum(db: Session, name: str) -> tuple[Forum, ForumSignIn]:
    """The forum called `name` and how it signs admins in, or the page saying why it cannot."""
    forum = db.execute(select(Forum).where(Forum.name == name)).scalar_one_or_none()
    if forum is None:
        abort(404, gettext("There is no forum named %(name)s here.", name=repr(name)))
    kind = registry.kind_of(forum.kind)
    if kind is None or kind.sign_in is None:
        abort(400, kind.sign_in_elsewhere if kind else None)
    if not forum.connect_secret:
        abort(400, kind.sign_in.no_secret)
    return forum, kind.sign_in


def _too_many(exc: TooManySignIns) -> ResponseReturnValue:
    """429: too many sign-ins started and not finished; say when to try again."""
    minutes = max(1, math.ceil(exc.retry_after.total_seconds() / 60))
    body, status = page(
        "message.html",
        429,
        title=gettext("Too many sign-ins"),
        text=ngettext(
            "Too many sign-ins were started here and not finished. Finish the one open in "
            "another tab, or try again in %(num)d minute.",
            "Too many sign-ins were started here and not finished. Finish the one open in "
            "another tab, or try again in %(num)d minutes.",
            minutes,
        ),
        retry=True,
    )
    return body, status, {"Retry-After": str(math.ceil(exc.retry_after.total_seconds()))}


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Without ?forum=: choose a forum. With it: go and sign in there."""
    name = request.args.get("forum")
    if not name:
        with reading(services().sessions) as db:
            forums = db.execute(select(Forum).order_by(Forum.name)).scalars().all()
        return page("login.html", forums=forums, next=_safe_next(request.args.get("next")))
    config = services().config
    client = client_hash(config.secret_key, request.remote_addr)
    try:
        with transaction(services().sessions) as db:
            forum, forum_sign_in = _forum(db, name)
            nonce = new_nonce(db, forum.id, utcnow(), client)
            url, secret, forum_name = forum.url, forum.connect_secret, forum.name
            assert secret is not None  # _forum answers 400 for a forum without one
    except TooManySignIns as exc:
        return _too_many(exc)
    # The nonce is also bound to this browser: an answer started elsewhere (a sign-in link
    # an attacker got for their own account) cannot sign this browser in.
    session["sso_nonce"] = nonce
    session["sso_next"] = _safe_next(request.args.get("next"))
    return_url = f"{config.base_url}/admin/sso/{forum_name}"
    return redirect(forum_sign_in.request_url(url, secret, nonce, return_url))


@bp.get("/sso/<forum_name>")
def sso(forum_name: str) -> ResponseReturnValue:
    """The forum sends the browser back here with the signed answer."""
    expected = session.pop("sso_nonce", None)
    next_url = _safe_next(session.pop("sso_next", None))
    with reading(services().sessions) as db:
        forum, forum_sign_in = _forum(db, forum_name)
        forum_id, secret = forum.id, forum.connect_secret
    assert secret is not None  # _forum answers 400 for a forum without one
    try:
        user = forum_sign_in.verify(secret, request.args)
    except SignInRefused as exc:
        return refuse(403, gettext("The forum's answer was refused: %(why)s.", why=str(exc)))
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode(), user.nonce.encode("utf-8")
    ):
        return refuse(
            403, gettext("This sign-in was not started in this browser, or it is finished.")
        )
    person = _person(user)
    if person is None:
        return refuse(403, gettext("The forum's answer does not name a user id."))
    with transaction(services().sessions) as db:
        if not consume_nonce(db, forum_id, user.nonce, utcnow()):
            return refuse(403, gettext("This sign-in was already used or has expired."))
        if not may_enter(db, forum_id, person):
            return refuse(
                403,
                gettext(
                    "%(name)s is not an admin or moderator of this forum, nor an admin "
                    "of any of its mentorship programs.",
                    name=user.username,
                ),
            )
        sign_in(db, forum_id, person, utcnow())
    return redirect(next_url or url_for("admin.index"))


def _person(user: SignedIn) -> Person | None:
    """Who signed in, by their user id on the forum, or None when the answer names none."""
    if user.user_id is None:
        return None
    return Person(
        user_id=user.user_id,
        username=user.username,
        is_forum_admin=user.is_forum_admin,
        is_forum_staff=user.is_forum_staff,
    )


# -- sign-in through a one-time link (minted by Zulip's `!admin`) ----------------------------


def _claim(token: str) -> LinkClaim:
    claim = read_link(services().config, token)
    if claim is None:
        abort(
            400,
            gettext("This sign-in link is not valid or has expired. Ask the bot for a new one."),
        )
    return claim


@bp.get("/link/<token>")
def link(token: str) -> ResponseReturnValue:
    """Ask before signing in: link previews fetch URLs, and must not use the link up."""
    claim = _claim(token)
    with reading(services().sessions) as db:
        if link_used(db, claim):
            abort(403, gettext("This sign-in link was used already. Ask the bot for a new one."))
        forum = db.get(Forum, claim.forum_id)
        if forum is None:
            abort(404, gettext("The forum of this link is gone."))
        return page("link.html", username=claim.person.username, forum=forum.name)


@bp.post("/link/<token>")
def link_use(token: str) -> ResponseReturnValue:
    """Use a sign-in link (by POST, which link previews never send)."""
    claim = _claim(token)
    with transaction(services().sessions) as db:
        if not use_link(db, claim, utcnow()):
            return refuse(
                403, gettext("This sign-in link was used already. Ask the bot for a new one.")
            )
        if db.get(Forum, claim.forum_id) is None or not may_enter(db, claim.forum_id, claim.person):
            return refuse(
                403,
                gettext(
                    "%(name)s may not administer any program here.", name=claim.person.username
                ),
            )
        sign_in(db, claim.forum_id, claim.person, utcnow())
    return redirect(url_for("admin.index"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out, then back to the sign-in page."""
    sign_out()
    flash(gettext("You are signed out."))
    return redirect(url_for("admin.login"))


# -- the index --------------------------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    """The programs the signed-in person administers, by title, with their numbers."""
    admin = signed_in_admin()
    with reading(services().sessions) as db:
        programs = programs_of(db, admin)
        counts = program_counts(db, [p.id for p in programs])
    return page("index.html", programs=programs, counts=counts)
