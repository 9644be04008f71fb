"""The matching engine: propose mentor-mentee pairs, exactly optimal, no database.

``match`` pairs as many mentees as the rules allow; among those matchings, as many priority
mentees (whose pairing ended without their doing) as possible; then the highest total
score. It never proposes a forbidden pair (an earlier pairing), a member with themself, a
mentor beyond capacity, or a pair further apart than ``max_tz_gap_hours``. See
``solvers.py`` for why the answer is exact.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np

from plugin.domain.matching.graph import Graph, build_graph
from plugin.domain.matching.scoring import (
    Candidate,
    MatchResult,
    Proposal,
    Reason,
    normalise_topics,
    score,
    score_units,
    tz_gap_minutes,
)
from plugin.domain.matching.solvers import effective_slots, solve_dense, solve_sparse

__all__ = [
    "Candidate",
    "MatchResult",
    "Proposal",
    "Reason",
    "greedy_match",
    "match",
    "normalise_topics",
    "score",
    "score_units",
    "tz_gap_minutes",
]

# Measured on 2 cores with bench/matching.py, solver time only (dense
# linear_sum_assignment on slots x mentees vs sparse LAPJVsp on slot edges):
#   3,018 slots x 5,000 mentees, all 5.0 M edges:     1.3-1.7 s vs 1.2 s
#   same cohort, 3.7 M edges (8 h time-zone limit):    1.35 s vs 1.2 s
#   same cohort, 1.2 M edges (2 h limit):              1.4 s vs 0.37 s
#   ~800 slots x 2,000 mentees:                        0.11 s vs 0.11 s
#   below ~1 M cells both take a few ms, dense slightly less.
# So the sparse solver is the large-cohort regime; the dense one keeps small runs simple
# and is the independent second implementation the tests compare against.
DENSE_MAX_CELLS = 1_000_000  # slots x mentees; 8 MB of float64


def _pick_regime(graph: Graph, slots: np.ndarray) -> str:
    mentees = int(np.count_nonzero(np.bincount(graph.mentee_idx)))
    return "dense" if int(slots.sum()) * mentees <= DENSE_MAX_CELLS else "sparse"


def _solve(graph: Graph, regime: str | None) -> tuple[np.ndarray, np.ndarray]:
    slots = effective_slots(graph)
    if len(graph.units) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    regime = regime or _pick_regime(graph, slots)
    if regime == "dense":
        return solve_dense(graph, slots)
    if regime == "sparse":
        return solve_sparse(graph, slots)
    raise ValueError(f"unknown regime {regime!r}")


def _check(graph: Graph, mentor_idx: np.ndarray, mentee_idx: np.ndarray) -> None:
    """Refuse to return anything the rules forbid, whatever a solver did."""
    # Edges are sorted by (mentor, mentee), so their combined keys are sorted too.
    width = max(len(graph.mentees), 1)
    edge_keys = graph.mentor_idx.astype(np.int64) * width + graph.mentee_idx
    keys = mentor_idx.astype(np.int64) * width + mentee_idx
    pos = np.minimum(np.searchsorted(edge_keys, keys), max(len(edge_keys) - 1, 0))
    taken = np.bincount(mentor_idx, minlength=len(graph.mentors))
    if (
        (len(keys) and not np.array_equal(edge_keys[pos], keys))
        or len(np.unique(mentee_idx)) != len(mentee_idx)
        or np.any(taken > graph.capacity)
    ):
        raise AssertionError("matching solver returned a pairing that breaks the rules")


def _result(graph: Graph, mentor_idx: np.ndarray, mentee_idx: np.ndarray) -> MatchResult:
    _check(graph, mentor_idx, mentee_idx)
    pairs = []
    for m, e in sorted(zip(mentor_idx.tolist(), mentee_idx.tolist(), strict=True)):
        value, reasons = score(graph.mentors[m], graph.mentees[e])
        pairs.append(Proposal(graph.mentors[m].id, graph.mentees[e].id, round(value, 3), reasons))
    paired = set(mentee_idx.tolist())
    left = graph.capacity - np.bincount(mentor_idx, minlength=len(graph.mentors))
    return MatchResult(
        pairs=tuple(pairs),
        unmatched_mentees=tuple(e.id for i, e in enumerate(graph.mentees) if i not in paired),
        unmatched_mentors=tuple(m.id for i, m in enumerate(graph.mentors) if left[i] > 0),
    )


def match(
    mentors: Iterable[Candidate],
    mentees: Iterable[Candidate],
    *,
    forbidden: Collection[tuple[int, int]] = frozenset(),
    max_tz_gap_hours: float | None = None,
    _regime: str | None = None,
) -> MatchResult:
    """Exactly optimal pairing: most mentees, then most priority mentees, then total score."""
    graph = build_graph(mentors, mentees, forbidden, max_tz_gap_hours)
    return _result(graph, *_solve(graph, _regime))


def greedy_match(
    mentors: Iterable[Candidate],
    mentees: Iterable[Candidate],
    *,
    forbidden: Collection[tuple[int, int]] = frozenset(),
    max_tz_gap_hours: float | None = None,
) -> MatchResult:
    """Baseline for the benchmark: take edges by descending score, ties by ids, while free."""
    graph = build_graph(mentors, mentees, forbidden, max_tz_gap_hours)
    # Indices follow id order, so sorting by index breaks ties by ids.
    order = np.lexsort((graph.mentee_idx, graph.mentor_idx, -graph.units))
    left = graph.capacity.tolist()
    open_slots = sum(left)
    free = [True] * len(graph.mentees)
    chosen_m: list[int] = []
    chosen_e: list[int] = []
    for m, e in zip(
        graph.mentor_idx[order].tolist(), graph.mentee_idx[order].tolist(), strict=True
    ):
        if open_slots == 0 or len(chosen_e) == len(free):
            break
        if left[m] > 0 and free[e]:
            left[m] -= 1
            open_slots -= 1
            free[e] = False
            chosen_m.append(m)
            chosen_e.append(e)
    return _result(graph, np.array(chosen_m, dtype=np.int64), np.array(chosen_e, dtype=np.int64))
