"""The candidate graph: every allowed (mentor, mentee) edge with its score units.

Scores for all mentor x mentee pairs are computed with numpy in blocks of mentors, so a
5,000 x 1,000 cohort costs a few sparse products instead of five million Python calls, and
memory stays bounded by the block size plus the edges that survive the rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from plugin.domain.matching.scoring import (
    EXPERTISE_UNITS,
    MAX_GAP_MINUTES,
    MINUTES_PER_DAY,
    SCORE_UNITS,
    Candidate,
    expertise_matches,
)

BLOCK_CELLS = 1 << 20  # mentor x mentee cells scored at once (8 MB per float64 array)


@dataclass(frozen=True)
class Graph:
    """Allowed edges, sorted by (mentor, mentee); indices point into the id-sorted tuples."""

    mentors: tuple[Candidate, ...]
    mentees: tuple[Candidate, ...]
    mentor_idx: np.ndarray  # int32, per edge
    mentee_idx: np.ndarray  # int32, per edge
    units: np.ndarray  # int32, per edge: score x 10^4, rounded half up

    @property
    def capacity(self) -> np.ndarray:
        """Free slots per mentor (int64)."""
        return np.array([m.capacity for m in self.mentors], dtype=np.int64)

    @property
    def priority(self) -> np.ndarray:
        """Priority flag per mentee (bool)."""
        return np.array([e.priority for e in self.mentees], dtype=bool)


def _sorted_unique(people: Iterable[Candidate], role: str) -> tuple[Candidate, ...]:
    ordered = tuple(sorted(people, key=lambda c: c.id))
    ids = [c.id for c in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate {role} ids")
    return ordered


def _incidence(people: tuple[Candidate, ...], vocab: dict[str, int]) -> sp.csr_array:
    rows = [i for i, c in enumerate(people) for t in c.topics if t in vocab]
    cols = [vocab[t] for c in people for t in c.topics if t in vocab]
    data = np.ones(len(rows), dtype=np.int32)
    return sp.csr_array((data, (rows, cols)), shape=(len(people), max(len(vocab), 1)))


def _blocked_pairs(
    mentors: tuple[Candidate, ...],
    mentees: tuple[Candidate, ...],
    forbidden: Collection[tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs that must never be proposed: earlier pairings and a member with themself."""
    mentor_pos = {c.id: i for i, c in enumerate(mentors)}
    mentee_pos = {c.id: i for i, c in enumerate(mentees)}
    blocked = {
        (mentor_pos[a], mentee_pos[b]) for a, b in forbidden if a in mentor_pos and b in mentee_pos
    }
    blocked |= {(i, mentee_pos[c.id]) for i, c in enumerate(mentors) if c.id in mentee_pos}
    pairs = np.array(sorted(blocked), dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _block_units(shared: np.ndarray, wanted: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Score units for a block, the same integers as ``scoring.score_units``."""
    # units = round_half_up(10^4 * num / (60000 * wanted)) = floor((num + 3w) / (6w)).
    # Done in float64 because numpy divides floats far faster than ints, and it is exact:
    # num + 3w and 6w are integers far below 2^53, the quotient q <= 10^4 is correctly
    # rounded (error <= q * 2^-53 < 2e-12), and a non-integer q is at least 1 / (6w) away
    # from the next integer, so the floor is never pushed across an integer.
    w = wanted.astype(np.float64)
    num = 42_000.0 * shared + (25.0 * w) * (MAX_GAP_MINUTES - gap) + 3.0 * w
    return np.floor(num / (6.0 * w)).astype(np.int32)


def _expert_incidence(
    mentors: tuple[Candidate, ...], mentee_topics: frozenset[str]
) -> tuple[sp.csr_array, dict[str, int]] | None:
    """Mentor x topic: 1 where a mentee topic names a category the mentor is active in."""
    found = {
        i: expertise_matches(m.expertise, mentee_topics)
        for i, m in enumerate(mentors)
        if m.expertise
    }
    vocab = {t: i for i, t in enumerate(sorted(set().union(*found.values())))} if found else {}
    if not vocab:
        return None  # nobody's expertise names a wanted topic: scores stay as they are
    rows = [i for i, topics in found.items() for _ in topics]
    cols = [vocab[t] for topics in found.values() for t in topics]
    data = np.ones(len(rows), dtype=np.int32)
    return sp.csr_array((data, (rows, cols)), shape=(len(mentors), len(vocab))), vocab


def _with_expertise(units: np.ndarray, matched: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Add the expertise bonus, as ``scoring.expertise_units``, capped at a score of 1."""
    bonus = (2 * EXPERTISE_UNITS * matched.astype(np.int64) + wanted) // (2 * wanted)
    return np.minimum(SCORE_UNITS, units + bonus).astype(np.int32)


def build_graph(
    mentors: Iterable[Candidate],
    mentees: Iterable[Candidate],
    forbidden: Collection[tuple[int, int]],
    max_tz_gap_hours: float | None,
) -> Graph:
    """Score every allowed edge: not forbidden, mentor has capacity, time zones close enough."""
    mentor_t = _sorted_unique(mentors, "mentor")
    mentee_t = _sorted_unique(mentees, "mentee")
    if any(m.capacity < 0 for m in mentor_t):
        raise ValueError("mentor capacity must be >= 0")
    # Only topics on both sides can ever be shared.
    common = set().union(*(m.topics for m in mentor_t)) & set().union(*(e.topics for e in mentee_t))
    vocab = {t: i for i, t in enumerate(sorted(common))}
    mentee_topics_t = _incidence(mentee_t, vocab).T.tocsr()
    mentor_topics = _incidence(mentor_t, vocab)
    wanted = np.array([max(len(e.topics), 1) for e in mentee_t], dtype=np.int32)
    # Offsets taken mod 24 h once, so a cell's gap needs no modulo: |a - b| < 24 h.
    mentee_tz = np.array([e.utc_offset_minutes for e in mentee_t]) % MINUTES_PER_DAY
    mentor_tz = np.array([m.utc_offset_minutes for m in mentor_t]) % MINUTES_PER_DAY
    expert = _expert_incidence(mentor_t, frozenset().union(*(e.topics for e in mentee_t)))
    if expert is not None:
        expert_topics_t = _incidence(mentee_t, expert[1]).T.tocsr()
    active = np.flatnonzero([m.capacity > 0 for m in mentor_t])
    blocked_m, blocked_e = _blocked_pairs(mentor_t, mentee_t, forbidden)
    step = max(1, BLOCK_CELLS // max(len(mentee_t), 1))
    parts_m, parts_e, parts_u = [], [], []
    for lo in range(0, len(active), step):
        rows = active[lo : lo + step]
        diff = np.abs(mentor_tz[rows, None] - mentee_tz[None, :]).astype(np.int32)
        gap = np.minimum(diff, MINUTES_PER_DAY - diff)
        shared = (mentor_topics[rows] @ mentee_topics_t).toarray()
        units = _block_units(shared, wanted[None, :], gap)
        if expert is not None:
            matched = (expert[0][rows] @ expert_topics_t).toarray()
            units = _with_expertise(units, matched, wanted[None, :].astype(np.int64))
        allowed = np.ones(gap.shape, dtype=bool)
        if max_tz_gap_hours is not None:
            allowed &= gap <= max_tz_gap_hours * 60
        pos = np.searchsorted(rows, blocked_m)  # active is sorted, so each block is too
        hit = (pos < len(rows)) & (rows[np.minimum(pos, len(rows) - 1)] == blocked_m)
        allowed[pos[hit], blocked_e[hit]] = False
        r, c = np.nonzero(allowed)
        parts_m.append(rows[r].astype(np.int32))
        parts_e.append(c.astype(np.int32))
        parts_u.append(units[r, c])
    empty = np.zeros(0, dtype=np.int32)
    return Graph(
        mentors=mentor_t,
        mentees=mentee_t,
        mentor_idx=np.concatenate(parts_m) if parts_m else empty,
        mentee_idx=np.concatenate(parts_e) if parts_e else empty,
        units=np.concatenate(parts_u) if parts_u else empty,
    )
