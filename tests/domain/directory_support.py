"""A self-service program with sign-ups, for the directory's domain and page tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from plugin.domain.programs import service
from plugin.engine.adapter import ForumGroup, ForumUser
from plugin.storage.db import transaction
from plugin.storage.models import Forum, Member, Pair, Program, Signup

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
_user_ids = itertools.count(9000)


def self_service_program(
    sessions, forum_id: int, *, self_service: bool = True, language="en"
) -> int:
    """An open self-service `career` program (groups as if the forum had answered)."""
    resolved = service.Resolved(
        ForumGroup(40, "community"),
        ForumGroup(43, "mentors"),
        ForumGroup(44, "mentees"),
        [ForumUser(1, "pat")],
    )
    with transaction(sessions) as db:
        program = service.create_program(
            db,
            db.get(Forum, forum_id),
            resolved,
            template="career",
            title="Career circle",
            language=language,
            self_service=self_service,
        )
        program.state = "open"
        return program.id


def signup(
    sessions,
    program_id: int,
    username: str,
    role: str,
    *,
    topics: str = "python, careers",
    about: str = "About me",
    capacity: int = 1,
    state: str = "ready",
    locale: str | None = None,
) -> int:
    """A member (new, or the one with this username) signed up as `role`; the sign-up id."""
    with transaction(sessions) as db:
        program = db.get(Program, program_id)
        member = db.query(Member).filter_by(forum_id=program.forum_id, username=username).first()
        if member is None:
            member = Member(
                forum_id=program.forum_id,
                forum_user_id=next(_user_ids),
                username=username,
                name=username.title(),
                locale=locale,
            )
            db.add(member)
            db.flush()
        row = Signup(
            program_id=program_id,
            member_id=member.id,
            role=role,
            state=state,
            about=about,
            topics=topics,
            timezone="Europe/Berlin",
            age_confirmed=state != "pending",
            capacity=capacity,
            link_version=1,
        )
        db.add(row)
        db.flush()
        return row.id


def pair(sessions, mentor_id: int, mentee_id: int, *, state="active", end_reason=None) -> int:
    """A pair of two sign-ups (running, or ended for `end_reason`)."""
    with transaction(sessions) as db:
        mentor = db.get(Signup, mentor_id)
        row = Pair(
            program_id=mentor.program_id,
            forum_id=mentor.program.forum_id,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            state=state,
            paired_at=T0,
            end_reason=end_reason,
        )
        db.add(row)
        db.flush()
        return row.id
