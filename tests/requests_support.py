"""Self-service requests for tests: a program's members ready, and requests made directly.

H5's directory makes requests through its page; these tests of what follows a request
(answers, expiry, status, pages) make the row as that page leaves it: open, 7 days to go.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from plugin.domain.requests import expires_at
from plugin.storage.db import transaction
from plugin.storage.models import Member, Program, Signup
from plugin.storage.requests import MentorRequest


def make_self_service(sessions, program_id: int) -> None:
    """Turn the program into a self-service one."""
    with transaction(sessions) as session:
        session.get_one(Program, program_id).self_service = True


def signup_of(session, program_id: int, username: str, role: str) -> Signup:
    """A member's sign-up by username and role."""
    return session.execute(
        select(Signup)
        .join(Signup.member)
        .where(Signup.program_id == program_id, Member.username == username, Signup.role == role)
    ).scalar_one()


def ask(sessions, program_id: int, mentee: str, mentor: str, at: datetime | None = None) -> int:
    """An open request from `mentee` to `mentor`, made at `at` (now); its id."""
    at = at or datetime.now(UTC)
    with transaction(sessions) as session:
        req = MentorRequest(
            program_id=program_id,
            mentee_id=signup_of(session, program_id, mentee, "mentee").id,
            mentor_id=signup_of(session, program_id, mentor, "mentor").id,
            created_at=at,
            expires_at=expires_at(at),
        )
        session.add(req)
        session.flush()
        return req.id


def state_of(sessions, request_id: int) -> str:
    """The request's state now."""
    with sessions() as session:
        return session.get_one(MentorRequest, request_id).state
