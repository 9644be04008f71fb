"""Exact solvers for the lexicographic objective: most mentees, then most priority mentees,
then the highest total score.

The three goals fold into one integer weight per edge (mentor m, mentee e):

    w = A + B * priority(e) + s(m, e)        s = score units, 0 <= s <= smax

With K = an upper bound on the number of pairs and P = min(priority mentees, K):

* B = K * smax + 1 exceeds any difference in total score, so one more priority mentee
  always beats any score gain;
* A = P * B + K * smax + 1 exceeds the largest possible total of the lower terms, so one
  more pair always beats any priority or score gain.

Hence a maximum-weight matching is exactly the lexicographic optimum. Both scipy solvers
work in float64. Every cost is an integer, and the solvers only add and subtract costs
(their dual potentials and path lengths are sums of at most one cost per node), so as long
as (nodes x largest cost) < 2^51 every value they compute is an exactly represented integer
and their equality tests are exact. ``tier_weights`` checks that bound; a cohort too large
for it gets a coarser score resolution (never a change to the first two goals).

Mentors become capacity slots: a mentor with c free slots is c interchangeable copies. Which
copy takes which mentee does not change the mentor-level pairing, so the symmetry needs no
tie-breaking penalty (which would be a fourth tier and cost precision for nothing).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from plugin.domain.matching.graph import Graph

EXACT_LIMIT = 2.0**51  # headroom below 2^53 for the solvers' potentials and path sums


def tier_weights(graph: Graph, slots: np.ndarray) -> np.ndarray:
    """Per-edge integer weights (as float64) whose maximum matching is the lexicographic one."""
    priority = graph.priority[graph.mentee_idx]
    with_edges = np.zeros(len(graph.mentees), dtype=bool)
    with_edges[graph.mentee_idx] = True
    k = int(min(slots.sum(), with_edges.sum()))
    p = int(min(graph.priority[with_edges].sum(), k))
    # Solver potentials and path lengths are bounded by nodes x the largest cost.
    nodes = int(slots.sum() + with_edges.sum())
    for divisor in (1, 10, 100, 1_000, 10_000):
        units = (graph.units.astype(np.int64) + divisor // 2) // divisor
        smax = int(units.max(initial=0))
        b = k * smax + 1
        a = p * b + k * smax + 1
        if nodes * (a + b + smax + 1) < EXACT_LIMIT:
            return np.where(priority, float(a + b), float(a)) + units
    raise ValueError(f"cohort too large to solve exactly ({k} possible pairs)")


def effective_slots(graph: Graph) -> np.ndarray:
    """Usable slots per mentor: capacity, but never more than the mentees it could take."""
    degree = np.bincount(graph.mentor_idx, minlength=len(graph.mentors))
    return np.minimum(graph.capacity, degree)


def _compress(idx: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of idx (sorted) and idx renumbered 0..n-1; O(n), unlike np.unique."""
    present = np.zeros(size, dtype=bool)
    present[idx] = True
    new_number = np.cumsum(present) - 1
    return np.flatnonzero(present), new_number[idx]


def solve_dense(graph: Graph, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slots x mentees assignment with ``linear_sum_assignment``; returns paired indices."""
    weights = tier_weights(graph, slots)
    mentors, m_inv = _compress(graph.mentor_idx, len(graph.mentors))
    mentees, e_inv = _compress(graph.mentee_idx, len(graph.mentees))
    owner = np.repeat(np.arange(len(mentors)), slots[mentors])
    # A missing edge costs 0, the same as leaving both ends unpaired, while every real edge
    # costs -w <= -A < 0; so an optimal full assignment restricted to its negative cells is
    # an optimal matching, and a zero cell is never reported as a pair. Costs are negated
    # here and the shorter side is made the rows, so scipy works on this array in place
    # instead of copying it (it copies to negate for maximize=True or to transpose).
    by_mentor = np.zeros((len(mentors), len(mentees)))
    by_mentor[m_inv, e_inv] = -weights
    del weights
    if len(owner) <= len(mentees):
        cost = np.repeat(by_mentor, slots[mentors], axis=0)
        del by_mentor
        slot, mentee = linear_sum_assignment(cost)
    else:
        cost = np.ascontiguousarray(np.repeat(by_mentor.T, slots[mentors], axis=1))
        del by_mentor
        mentee, slot = linear_sum_assignment(cost)
        cost = cost.T
    keep = cost[slot, mentee] < 0
    return mentors[owner[slot[keep]]], mentees[mentee[keep]]


def prune_per_mentor(graph: Graph, weights: np.ndarray, k: int) -> np.ndarray:
    """Mask keeping each mentor's k heaviest edges; exact when k >= the most pairs possible.

    If an optimal matching used an edge (m, e) outside m's top k, at most k - 1 other mentees
    are paired, so one mentee e' in m's top k is unpaired; moving m's slot from e to e'
    loses no weight (w(m, e') >= w(m, e)) and keeps every rule. Repeating this yields an
    optimal matching inside the kept edges.
    """
    # Edges are grouped by mentor, so each mentor's edges are one contiguous slice; only
    # mentors with more than k edges need a partial sort, and a partition suffices (ties
    # may go either way: every kept edge still weighs at least every dropped one).
    keep = np.ones(len(weights), dtype=bool)
    bounds = np.searchsorted(graph.mentor_idx, np.arange(len(graph.mentors) + 1))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if hi - lo > k:
            heaviest = np.argpartition(-weights[lo:hi], k - 1)[:k]
            keep[lo:hi] = False
            keep[lo + heaviest] = True
    return keep


def _slot_matrix(
    mentor_idx: np.ndarray,
    mentee_col: np.ndarray,
    cost: np.ndarray,
    slots: np.ndarray,
    n_cols: int,
    dummy_cost: float,
) -> sp.csr_array:
    """CSR of slots x (mentees + dummies): each slot row repeats its mentor's edges, then has
    its own dummy column, built in place to keep peak memory near the final matrix."""
    n_mentors = len(slots)
    start = np.searchsorted(mentor_idx, np.arange(n_mentors))
    degree = np.bincount(mentor_idx, minlength=n_mentors)
    owner = np.repeat(np.arange(n_mentors), slots)
    row_len = degree[owner] + 1
    nnz = int(row_len.sum())
    index_type = np.int32 if nnz < 2**31 else np.int64  # LAPJVsp wants int32 when it fits
    indptr = np.zeros(len(owner) + 1, dtype=index_type)
    np.cumsum(row_len, out=indptr[1:])
    # Entry p of slot row s is edge start[owner[s]] + (p - indptr[s]); the last is the dummy.
    src = np.arange(nnz, dtype=index_type)
    # numpy's stubs cannot subtract int arrays whose dtype is chosen at run time.
    src -= np.repeat((indptr[:-1] - start[owner]).astype(index_type), row_len)  # type: ignore[misc,operator]
    dummy = indptr[1:] - 1
    src[dummy] = 0
    indices = mentee_col.astype(index_type)[src]
    data = cost[src]
    del src
    indices[dummy] = n_cols + np.arange(len(owner))
    data[dummy] = dummy_cost
    return sp.csr_array((data, indices, indptr), shape=(len(owner), n_cols + len(owner)))


def solve_sparse(graph: Graph, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slots x (mentees + one dummy per slot) with LAPJVsp; returns paired indices."""
    weights = tier_weights(graph, slots)
    mentees, e_inv = _compress(graph.mentee_idx, len(graph.mentees))
    keep = prune_per_mentor(graph, weights, int(min(slots.sum(), len(mentees))))
    # Costs are positive (the solver drops explicit zeros): a real edge costs c0 - w >= 1,
    # a slot's private dummy "unused" column costs c0, so the minimum-cost full matching of
    # the slots is the maximum-weight matching, and a full matching always exists.
    c0 = float(weights.max(initial=0.0)) + 1.0
    matrix = _slot_matrix(
        graph.mentor_idx[keep], e_inv[keep], c0 - weights[keep], slots, len(mentees), c0
    )
    del weights, e_inv, keep
    rows, cols = min_weight_full_bipartite_matching(matrix)
    owner = np.repeat(np.arange(len(graph.mentors)), slots)
    paired = cols < len(mentees)
    return owner[rows[paired]], mentees[cols[paired]]
