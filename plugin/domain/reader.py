"""Who reads a message, and so its language and time zone (the team's rule, issue 13).

- One member (a private message, a reply to their message to the bot): their language.
- The pair's thread: the language both read when they agree, else the program's.
- The program's admins: the program's language.
Dates in a pair's thread are in the mentee's time zone (the one quiet hours follow too).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.i18n import DEFAULT, for_member, language_of
from plugin.storage.models import Member, Pair, Program, Signup


def program_language(program: Program) -> str:
    """The program's language, a supported one (an unknown stored code reads as English)."""
    return language_of(program.language) or DEFAULT


def member_language(member: Member, program: Program) -> str:
    """What a member reads in a message to them alone about `program`."""
    return for_member(member.locale, program_language(program))


def pair_language(pair: Pair, program: Program) -> str:
    """What the pair's thread is written in: the two's language if shared, else the program's."""
    mentor = member_language(pair.mentor.member, program)
    mentee = member_language(pair.mentee.member, program)
    return mentor if mentor == mentee else program_language(program)


def admin_language(program: Program) -> str:
    """What the program's admins read."""
    return program_language(program)


def direct_language(session: Session, member: Member) -> str:
    """A reply to a member's message to the bot, which names no program.

    Their account's language, else the language of the program they signed up to last,
    else English.
    """
    own = language_of(member.locale)
    if own is not None:
        return own
    latest = session.execute(
        select(Program.language)
        .join(Signup, Signup.program_id == Program.id)
        .where(Signup.member_id == member.id)
        .order_by(Signup.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return language_of(latest) or DEFAULT


def pair_zone(pair: Pair) -> str:
    """The time zone of dates in the pair's thread: the mentee's (UTC if they named none)."""
    return pair.mentee.timezone or "UTC"


def member_zone(pair: Pair, member: Member) -> str:
    """The time zone of dates told to one member of the pair alone: their own."""
    signup = pair.mentor if pair.mentor.member_id == member.id else pair.mentee
    return signup.timezone or "UTC"
