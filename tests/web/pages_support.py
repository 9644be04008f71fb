"""Helpers for the member page tests: a pending sign-up link, a rating link, a directory."""

from __future__ import annotations

import itertools
import json

from plugin.domain.journey import feedback_token
from plugin.domain.programs.template_files import load_template, template_to_dict
from plugin.domain.signups import directory_token, signup_token
from plugin.storage.db import transaction
from plugin.storage.models import Member, Pair, Program, Signup, utcnow

_user_ids = itertools.count(7000)


def career_program(forum_id: int, language: str = "en") -> Program:
    """An open `career` program on the community, not yet added to a session."""
    return Program(
        language=language,
        forum_id=forum_id,
        title="Career advancement",
        template_key="career",
        template=json.dumps(template_to_dict(load_template("career"))),
        state="open",
        group_name="community",
        group_id=40,
        mentor_group_name="mentors",
        mentor_group_id=43,
        mentee_group_name="mentees",
        mentee_group_id=44,
        cadence_days=7.0,
        admins="[]",
    )


def _signup(db, program: Program, username: str, role: str, locale: str | None = None) -> Signup:
    member = Member(
        forum_id=program.forum_id, forum_user_id=next(_user_ids), username=username, locale=locale
    )
    db.add(member)
    db.flush()
    signup = Signup(
        program_id=program.id,
        member_id=member.id,
        role=role,
        state="pending",
        link_version=1,
        capacity=1,
    )
    db.add(signup)
    db.flush()
    return signup


def signup_path(
    sessions,
    secret: str,
    forum_id: int,
    role: str = "mentor",
    *,
    language: str = "en",
    locale: str | None = None,
) -> str:
    """The path of a fresh pending sign-up's personal link (program language, member locale)."""
    with transaction(sessions) as db:
        program = career_program(forum_id, language)
        db.add(program)
        db.flush()
        signup = _signup(db, program, "maya", role, locale)
        return f"/signup/{signup_token(secret, signup)}"


def feedback_path(
    sessions, secret: str, forum_id: int, *, language: str = "en", locale: str | None = None
) -> str:
    """The path of the mentee's rating link for a completed pairing (the mentee's locale)."""
    with transaction(sessions) as db:
        program = career_program(forum_id, language)
        db.add(program)
        db.flush()
        mentor = _signup(db, program, "maya", "mentor")
        mentee = _signup(db, program, "noah", "mentee", locale)
        pair = Pair(
            program_id=program.id,
            forum_id=forum_id,
            mentor_id=mentor.id,
            mentee_id=mentee.id,
            state="completed",
            paired_at=utcnow(),
        )
        db.add(pair)
        db.flush()
        return f"/feedback/{feedback_token(secret, pair, db.get(Member, mentee.member_id))}"


def directory_path(sessions, secret: str, forum_id: int, *, locale: str | None = None) -> str:
    """The path of a self-service mentee's directory, where two mentors have room."""
    with transaction(sessions) as db:
        program = career_program(forum_id)
        program.self_service = True
        db.add(program)
        db.flush()
        for name, topics in (("sam", "python, code review"), ("ana", "public speaking")):
            mentor = _signup(db, program, name, "mentor")
            mentor.state, mentor.age_confirmed, mentor.timezone = "ready", True, "Europe/Berlin"
            mentor.about, mentor.topics, mentor.capacity = f"I am {name.title()}.", topics, 2
            db.get(Member, mentor.member_id).name = name.title()
        mentee = _signup(db, program, "maya", "mentee", locale)
        mentee.state, mentee.age_confirmed = "ready", True
        db.flush()
        return f"/directory/{directory_token(secret, mentee)}"
