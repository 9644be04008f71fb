"""Nobody left silently unmatched: after an admin applies matching, those still waiting hear so.

Each mentee still without a mentor, and each mentor with room who got nobody new, receives a
short private message in their own language saying so and what happens next. It is sent once
per apply (the apply's key is in the outbox key) and never on a dry run, which calls nothing here.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from plugin.domain.journey import tell_member
from plugin.domain.messages import render
from plugin.domain.pairs import active_count, is_waiting_mentee, waiting
from plugin.domain.reader import member_language
from plugin.storage.models import Program
from plugin.storage.states import Role


def tell_unmatched(
    session: Session, program: Program, paired_now: Collection[int], apply_key: str
) -> int:
    """Tell every waiting member not in `paired_now` (sign-up ids) that they wait on; how many."""
    told = 0
    for signup, member in waiting(session, program):
        if signup.id in paired_now or not member.username:
            continue
        if is_waiting_mentee(signup):
            template = "unmatched_mentee"
        elif signup.role == Role.MENTOR and active_count(session, signup) < signup.capacity:
            template = "unmatched_mentor"
        else:
            continue
        message = render(template, member_language(member, program), program=program.title)
        key = f"unmatched:{program.id}:{apply_key}:{signup.role}"
        tell_member(session, program.forum_id, member, key, message)
        told += 1
    return told
