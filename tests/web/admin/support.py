"""Helpers for the admin page tests: a DiscourseConnect answer, programs and sign-ups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from plugin.domain.pairs import create_pair
from plugin.domain.programs import service
from plugin.engine.adapter import ForumGroup, ForumUser
from plugin.storage.db import reading, transaction
from plugin.storage.models import Feedback, Forum, Member, Program, Signup, utcnow
from tests.helpers import hidden_inputs

CONNECT_SECRET = "connect-secret-for-tests"
_user_ids = itertools.count(500)
_ids_by_name: dict[str, int] = {}


def user_id_of(username: str) -> int:
    """The forum's user id for a username, the same in every helper (forums ignore case)."""
    return _ids_by_name.setdefault(username.casefold(), next(_user_ids))


def connect_answer(secret: str, fields: dict[str, str]) -> dict[str, str]:
    """What Discourse appends to return_sso_url: {"sso": ..., "sig": ...}."""
    sso = base64.b64encode(urlencode(fields).encode()).decode()
    return {"sso": sso, "sig": hmac.new(secret.encode(), sso.encode(), hashlib.sha256).hexdigest()}


def decode_request(location: str) -> dict[str, str]:
    """The fields of the DiscourseConnect request in a redirect to the forum."""
    query = parse_qs(urlsplit(location).query)
    payload = base64.b64decode(query["sso"][0]).decode()
    return {k: v[0] for k, v in parse_qs(payload).items()}


def user_fields(
    nonce: str, username: str, *, admin=False, moderator=False, user_id: int | None = None
) -> dict[str, str]:
    """The user fields Discourse's provider mode sends back (NOTES.md §5)."""
    return {
        "nonce": nonce,
        "return_sso_url": "ignored",
        "external_id": str(user_id if user_id is not None else user_id_of(username)),
        "username": username,
        "name": username.title(),
        "email": f"{username}@example.com",
        "admin": "true" if admin else "false",
        "moderator": "true" if moderator else "false",
        "groups": "trust_level_0,trust_level_1",
    }


def start_sign_in(client, forum: str = "forum") -> tuple[str, str]:
    """(nonce, return path) after /admin/login sent the browser to the forum."""
    response = client.get(f"/admin/login?forum={forum}")
    assert response.status_code == 302, response.get_data(as_text=True)
    fields = decode_request(response.headers["Location"])
    return fields["nonce"], urlsplit(fields["return_sso_url"]).path


def sign_in(
    client,
    username: str,
    *,
    admin=False,
    moderator=False,
    secret=CONNECT_SECRET,
    user_id: int | None = None,
):
    """The whole round trip through a forum that says `username` (by default the one user
    of that name, see `user_id_of`) signed in."""
    nonce, path = start_sign_in(client)
    fields = user_fields(nonce, username, admin=admin, moderator=moderator, user_id=user_id)
    return client.get(path, query_string=connect_answer(secret, fields))


def csrf(client, path: str = "/admin/") -> str:
    """The session's CSRF token, read from a page's form like a browser would."""
    return hidden_inputs(client.get(path).get_data(as_text=True))["csrf_token"]


def set_connect_secret(sessions, forum_id: int, secret: str | None = CONNECT_SECRET) -> None:
    with transaction(sessions) as db:
        db.get(Forum, forum_id).connect_secret = secret


def make_program(
    sessions, forum_id: int, *, title="Career circle", admins=("pat",), state="open", cadence=7
) -> int:
    """A program in `forum_id` (groups as if the forum had answered)."""
    resolved = service.Resolved(
        ForumGroup(40, "community"),
        ForumGroup(43, "mentors"),
        ForumGroup(44, "mentees"),
        [ForumUser(user_id_of(name), name) for name in admins],
    )
    with transaction(sessions) as db:
        forum = db.get(Forum, forum_id)
        program = service.create_program(
            db, forum, resolved, template="career", title=title, cadence_days=cadence
        )
        program.state = state
        return program.id


def add_signup(
    sessions,
    program_id: int,
    username: str,
    role: str,
    *,
    topics="python, careers",
    timezone="UTC",
    about="About me",
    capacity=1,
    state="ready",
    locale: str | None = None,
) -> int:
    """A member (new, or the one with this username) with a completed (or pending) sign-up as
    `role`, speaking `locale` if given; returns the sign-up id."""
    with transaction(sessions) as db:
        program = db.get(Program, program_id)
        member = db.query(Member).filter_by(forum_id=program.forum_id, username=username).first()
        if member is None:
            member = Member(
                forum_id=program.forum_id,
                forum_user_id=user_id_of(username),
                username=username,
                name=username.title(),
                locale=locale,
            )
            db.add(member)
            db.flush()
        signup = Signup(
            program_id=program_id,
            member_id=member.id,
            role=role,
            state=state,
            about=about,
            topics=topics,
            timezone=timezone,
            age_confirmed=state != "pending",
            capacity=capacity,
            # Its personal link has been sent once, as every real sign-up's has (version 1).
            link_version=1,
            ready_at=utcnow() if state == "ready" else None,
        )
        db.add(signup)
        db.flush()
        return signup.id


def post(client, path: str, data: dict | None = None, token_page: str = "/admin/"):
    """POST a form with the CSRF token of `token_page`."""
    return client.post(path, data={"csrf_token": csrf(client, token_page), **(data or {})})


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def settings_form(**changes) -> dict:
    """The forum settings form as saved unchanged, with `changes`."""
    form = {
        "url": "http://127.0.0.1:9",
        "api_username": "mentor_bot",
        "request_budget_per_minute": "55",
        "api_key": "",
        "webhook_secret": "",
        "connect_secret": "",
    }
    return form | changes


def stored_forum(sessions) -> Forum:
    """The one forum row."""
    with reading(sessions) as db:
        return db.execute(select(Forum)).scalar_one()


def make_pair(
    sessions, program_id, mentor, mentee, *, days_ago: float, active_days_ago=None, state=None
):
    """A pair of these two sign-ups, paired `days_ago` (last active then, unless told)."""
    now = utcnow()
    with transaction(sessions) as db:
        p = db.get(Program, program_id)
        pair = create_pair(
            db, p, db.get(Signup, mentor), db.get(Signup, mentee), now - timedelta(days=days_ago)
        )
        if active_days_ago is not None:
            pair.last_activity_at = now - timedelta(days=active_days_ago)
        if state:
            pair.state = state
        return pair.id


def rate(sessions, pair_id: int, username: str, rating: int, comment: str | None) -> None:
    """`username` rates the pair."""
    with transaction(sessions) as db:
        member = db.query(Member).filter_by(username=username).one()
        db.add(Feedback(pair_id=pair_id, member_id=member.id, rating=rating, comment=comment))
