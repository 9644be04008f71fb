"""Candidates, proposals and the pair score.

The score is 0.7 x topic overlap + 0.3 x time-zone closeness, both in [0, 1]:

* Topic overlap is the share of the *mentee's* topics that the mentor also lists, not the
  Jaccard index. A mentee's wishes matter most, and Jaccard would punish a broad mentor for
  knowing more than the mentee asked about (a mentor with 10 topics covering the mentee's 2
  would score 0.2 instead of 1.0).
* Time-zone closeness is 1 at 0 h apart and falls linearly to 0 at 12 h apart. Offsets wrap
  around the globe, so +12 h and -12 h are 0 h apart; no two offsets are more than 12 h apart.

Forum expertise, where the forum keeps a record (a mentor's busiest categories), adds a
bonus beside topics: 0.1 x the share of the mentee's topics that name one of those
categories (every word of the topic is a word of the category's name, case-insensitively:
"algebra" matches "Linear Algebra"), the total capped at 1. Without expertise the bonus is
0, so scores are exactly what they were.

The solver optimises integer "score units" (the score x 10^4, rounded half up), computed
with exact integer arithmetic so that the vectorised path in ``graph.py`` and this
one-pair path agree bit for bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TOPIC_WEIGHT = 0.7
TZ_WEIGHT = 0.3
MINUTES_PER_DAY = 24 * 60
MAX_GAP_MINUTES = MINUTES_PER_DAY // 2
SCORE_UNITS = 10_000  # solver resolution: 1 unit = 0.0001 of score
EXPERTISE_WEIGHT = 0.1  # at most: every topic of the mentee is one of the mentor's categories
EXPERTISE_UNITS = 1_000  # the same weight in solver units
EXPERTISE_REASON = "forum activity in "  # the reason's text starts so: drafts tell it apart


@dataclass(frozen=True)
class Candidate:
    """A member waiting to be paired: a mentor (uses capacity) or a mentee (uses priority)."""

    id: int
    topics: frozenset[str]
    utc_offset_minutes: int
    capacity: int = 1  # mentors: free slots left, may be 0
    priority: bool = False  # mentees: their last pairing ended without their doing
    # mentors: names of the forum categories they are active in (empty where unknown)
    expertise: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reason:
    """One part of a score, e.g. shared topics "python, careers" or time zones "2 h apart"."""

    kind: str
    text: str
    weight: float


@dataclass(frozen=True)
class Proposal:
    """A proposed pairing with its score (3 decimals) and the reasons behind it."""

    mentor_id: int
    mentee_id: int
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class MatchResult:
    """Proposed pairs, the mentees left waiting and the mentors with capacity left."""

    pairs: tuple[Proposal, ...]
    unmatched_mentees: tuple[int, ...]
    unmatched_mentors: tuple[int, ...]


def normalise_topics(text: str) -> frozenset[str]:
    """Split comma-separated topics; lowercase, trim, collapse spaces and drop empties."""
    return frozenset(" ".join(part.split()).lower() for part in text.split(",") if part.strip())


def tz_gap_minutes(a: int, b: int) -> int:
    """Minutes between two UTC offsets the short way round the globe (0..720)."""
    d = abs(a - b) % MINUTES_PER_DAY
    return min(d, MINUTES_PER_DAY - d)


def score_fraction(shared: int, wanted: int, gap: int) -> tuple[int, int]:
    """The exact score as numerator / denominator (integers, so no rounding drift)."""
    # score = 0.7 * shared/wanted + 0.3 * (720 - gap)/720
    #       = (42000 * shared + 25 * wanted * (720 - gap)) / (60000 * wanted)
    wanted = max(wanted, 1)  # a mentee without topics shares none: overlap 0
    return 42_000 * shared + 25 * wanted * (MAX_GAP_MINUTES - gap), 60_000 * wanted


def words(text: str) -> frozenset[str]:
    """The lower-case words of a topic or a category name."""
    return frozenset(re.findall(r"\w+", text.lower()))


def expertise_matches(categories: frozenset[str], topics: frozenset[str]) -> dict[str, str]:
    """Topic -> the category it names (every word of the topic is one of its words)."""
    named = [(words(c), c) for c in sorted(categories)]  # the first by name, every time
    found = {}
    for topic in topics:
        wanted = words(topic)
        category = next((c for w, c in named if wanted and wanted <= w), None)
        if category is not None:
            found[topic] = category
    return found


def expertise_units(matched: int, wanted: int) -> int:
    """The expertise bonus in solver units (rounded half up); 0 when nothing matched."""
    wanted = max(wanted, 1)
    return (2 * EXPERTISE_UNITS * matched + wanted) // (2 * wanted)


def score_units(mentor: Candidate, mentee: Candidate) -> int:
    """The score in solver units (x 10^4, rounded half up); what ``match`` optimises."""
    num, den = score_fraction(
        len(mentor.topics & mentee.topics),
        len(mentee.topics),
        tz_gap_minutes(mentor.utc_offset_minutes, mentee.utc_offset_minutes),
    )
    base = (2 * num * SCORE_UNITS + den) // (2 * den)
    if not mentor.expertise:
        return base
    matched = len(expertise_matches(mentor.expertise, mentee.topics))
    return min(SCORE_UNITS, base + expertise_units(matched, len(mentee.topics)))


def _gap_text(gap: int) -> str:
    if gap == 0:
        return "same time zone"
    hours, minutes = divmod(gap, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    return " ".join(parts) + " apart"


def score(mentor: Candidate, mentee: Candidate) -> tuple[float, tuple[Reason, ...]]:
    """Score a pair in [0, 1] and explain it: shared topics, forum expertise, time zones."""
    shared = mentor.topics & mentee.topics
    wanted = max(len(mentee.topics), 1)
    gap = tz_gap_minutes(mentor.utc_offset_minutes, mentee.utc_offset_minutes)
    num, den = score_fraction(len(shared), wanted, gap)
    # One correctly rounded division of exact integers: never outside [0, 1].
    value = num / den
    reasons = []
    if shared:
        topic_part = TOPIC_WEIGHT * len(shared) / wanted
        reasons.append(Reason("topics", ", ".join(sorted(shared)), round(topic_part, 3)))
    expert = expertise_matches(mentor.expertise, mentee.topics) if mentor.expertise else {}
    if expert:
        bonus = EXPERTISE_WEIGHT * len(expert) / wanted
        text = EXPERTISE_REASON + ", ".join(sorted(set(expert.values())))
        reasons.append(Reason("expertise", text, round(bonus, 3)))
        value = min(1.0, value + bonus)
    tz_part = TZ_WEIGHT * (MAX_GAP_MINUTES - gap) / MAX_GAP_MINUTES
    reasons.append(Reason("timezone", _gap_text(gap), round(tz_part, 3)))
    return value, tuple(reasons)
