"""The states and kinds a row can be in, as enums stored as the same short strings as before.

Each is a `StrEnum`: a member equals its string, so templates, JSON and CLI output read as
they always did. `column` stores one in a plain VARCHAR of the length the migrations gave it,
without a CHECK constraint, so the schema is unchanged and no migration is needed.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class QueueState(StrEnum):
    """Where an inbox event or outbox message is in its life (plugin/engine/leases.py)."""

    PENDING = "pending"
    SENDING = "sending"  # leased: a worker is on it
    DONE = "done"  # inbox: processed
    FAILED = "failed"  # inbox: gave up
    SENT = "sent"  # outbox: the forum has it
    DEAD = "dead"  # outbox: gave up or cancelled


class ProgramState(StrEnum):
    """A program is drafted, then open to sign-ups and pairing, then closed."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"  # no new sign-ups or pairs; running pairs go on


class Space(StrEnum):
    """Where a pair talks: a private message, or (Discourse only) a chat direct-message channel."""

    PM = "pm"
    CHAT = "chat"


class Role(StrEnum):
    """Which side of a pairing a sign-up is for."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class SignupState(StrEnum):
    """A sign-up waits for its profile (pending), then for a pair (ready), then is paired.

    A mentee whose pairing completed is `completed`; a mentor goes back to ready instead.
    """

    PENDING = "pending"  # the profile form is not done yet
    READY = "ready"
    PAIRED = "paired"  # a mentor stays paired while any pair of theirs runs
    WITHDRAWN = "withdrawn"  # they left, or were erased
    COMPLETED = "completed"  # a mentee whose pairing completed


class RequestState(StrEnum):
    """A mentee's request to a mentor of a self-service program (plugin/domain/requests.py)."""

    OPEN = "open"  # the mentor has not answered; it holds no place
    ACCEPTED = "accepted"  # the two were paired
    DECLINED = "declined"
    EXPIRED = "expired"  # not answered within 7 days


class PairState(StrEnum):
    """A pair runs (active or paused) until it ends early or completes the steps."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"  # early: `!end`, `!block`, or a member left
    COMPLETED = "completed"  # one cadence after the last step


class ReportKind(StrEnum):
    """What a member asked for: `!report` or `!block`."""

    REPORT = "report"
    BLOCK = "block"


class ReportState(StrEnum):
    """A report is open until an admin resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


class ProposalState(StrEnum):
    """A proposed pairing until an admin accepts it or accepting it was refused."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REFUSED = "refused"


def column(states: type[StrEnum], length: int) -> Enum:
    """The column type storing `states` as their values in a VARCHAR(length), no constraint."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )
