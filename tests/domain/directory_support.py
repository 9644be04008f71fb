"""A self-service program and its pairs, for the directory's domain and page tests (sign-ups:
tests/web/admin/support.py `add_signup`)."""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.domain.programs import service
from plugin.engine.adapter import ForumGroup, ForumUser
from plugin.storage.db import transaction
from plugin.storage.models import Forum, Pair, Signup

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


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
