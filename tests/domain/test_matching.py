"""The matching engine: score, rules and the exact lexicographic optimum."""

from __future__ import annotations

import random
from functools import cache

import pytest

from plugin.domain.matching import (
    Candidate,
    MatchResult,
    greedy_match,
    match,
    normalise_topics,
    score,
    score_units,
    solvers,
    tz_gap_minutes,
)
from plugin.domain.matching.graph import build_graph

REGIMES = ("dense", "sparse")
VOCAB = ("python", "rust", "careers", "sql", "design", "writing")
# Offsets that exercise the wrap-around: +12 h, -12 h, +14 h, -11 h, half-hour zones.
OFFSETS = (-720, -660, -300, 0, 60, 330, 480, 720, 840)


def mentor(id: int, topics: str = "", tz: int = 0, capacity: int = 1) -> Candidate:
    return Candidate(id, normalise_topics(topics), tz, capacity=capacity)


def mentee(id: int, topics: str = "", tz: int = 0, priority: bool = False) -> Candidate:
    return Candidate(id, normalise_topics(topics), tz, priority=priority)


def pairs_of(result: MatchResult) -> set[tuple[int, int]]:
    return {(p.mentor_id, p.mentee_id) for p in result.pairs}


def objective(result, mentors, mentees) -> tuple[int, int, int]:
    """(pairs, priority pairs, total score units): what match maximises, in that order."""
    mentor_by_id, mentee_by_id = {m.id: m for m in mentors}, {e.id: e for e in mentees}
    return (
        len(result.pairs),
        sum(mentee_by_id[p.mentee_id].priority for p in result.pairs),
        sum(
            score_units(mentor_by_id[p.mentor_id], mentee_by_id[p.mentee_id]) for p in result.pairs
        ),
    )


def allowed(m: Candidate, e: Candidate, forbidden, max_gap: float | None) -> bool:
    gap_ok = max_gap is None or tz_gap_minutes(m.utc_offset_minutes, e.utc_offset_minutes) <= (
        max_gap * 60
    )
    return m.capacity > 0 and (m.id, e.id) not in forbidden and m.id != e.id and gap_ok


def brute_force(mentors, mentees, forbidden, max_gap) -> tuple[int, int, int]:
    """The best objective over every assignment of mentees to mentors (or to no one)."""

    @cache
    def best(i: int, left: tuple[int, ...]) -> tuple[int, int, int]:
        if i == len(mentees):
            return (0, 0, 0)
        e = mentees[i]
        result = best(i + 1, left)
        for j, m in enumerate(mentors):
            if left[j] > 0 and allowed(m, e, forbidden, max_gap):
                rest = best(i + 1, left[:j] + (left[j] - 1,) + left[j + 1 :])
                here = (1, int(e.priority), score_units(m, e))
                result = max(result, tuple(a + b for a, b in zip(here, rest, strict=True)))
        return result

    return best(0, tuple(m.capacity for m in mentors))


def assert_valid(result, mentors, mentees, forbidden=frozenset(), max_gap=None) -> None:
    mentor_by_id, mentee_by_id = {m.id: m for m in mentors}, {e.id: e for e in mentees}
    taken: dict[int, int] = {}
    for p in result.pairs:
        m, e = mentor_by_id[p.mentor_id], mentee_by_id[p.mentee_id]
        assert allowed(m, e, forbidden, max_gap)
        taken[p.mentor_id] = taken.get(p.mentor_id, 0) + 1
    assert all(taken[m.id] <= m.capacity for m in mentors if m.id in taken)
    paired = [p.mentee_id for p in result.pairs]
    assert len(paired) == len(set(paired))
    assert sorted(paired + list(result.unmatched_mentees)) == sorted(e.id for e in mentees)
    left = {m.id for m in mentors if m.capacity > taken.get(m.id, 0)}
    assert set(result.unmatched_mentors) == left


def random_cohort(rng: random.Random, max_mentors: int = 5, max_mentees: int = 6):
    def topics() -> frozenset[str]:
        return frozenset(rng.sample(VOCAB, rng.randint(0, 3)))

    mentors = [
        Candidate(i, topics(), rng.choice(OFFSETS), capacity=rng.choice((0, 1, 1, 2, 3)))
        for i in range(1, rng.randint(0, max_mentors) + 1)
    ]
    # Ids 4..: a member can be on both sides (ids 4 and 5 may be mentors too).
    mentees = [
        Candidate(3 + i, topics(), rng.choice(OFFSETS), priority=rng.random() < 0.3)
        for i in range(1, rng.randint(0, max_mentees) + 1)
    ]
    forbidden = {(m.id, e.id) for m in mentors for e in mentees if rng.random() < 0.25}
    max_gap = rng.choice((None, None, 3, 6.5))
    return mentors, mentees, forbidden, max_gap


def test_normalise_topics_lowercases_trims_and_drops_empties():
    assert normalise_topics("Python, Career change ,python,, ") == {"python", "career change"}
    assert normalise_topics("") == frozenset()


def test_score_lies_in_unit_interval():
    rng = random.Random(7)
    for _ in range(500):
        a = Candidate(1, frozenset(rng.sample(VOCAB, rng.randint(0, 6))), rng.randint(-720, 840))
        b = Candidate(2, frozenset(rng.sample(VOCAB, rng.randint(0, 6))), rng.randint(-720, 840))
        value, _ = score(a, b)
        assert 0.0 <= value <= 1.0
        assert abs(value * 10_000 - score_units(a, b)) <= 0.5 + 1e-9
    assert score(mentor(1, "python", 0), mentee(2, "python", 0))[0] == 1.0
    assert score(mentor(1, "", 0), mentee(2, "python", 720))[0] == 0.0


def test_time_zone_gap_wraps_around_the_globe_symmetrically():
    assert tz_gap_minutes(720, -720) == 0  # +12 h and -12 h are the same wall clock
    assert tz_gap_minutes(840, -660) == 60  # +14 h and -11 h are an hour apart
    assert tz_gap_minutes(-300, 420) == 720  # opposite sides of the globe: the maximum
    for a, b in [(0, 330), (-300, 600), (840, -720), (45, -45)]:
        assert tz_gap_minutes(a, b) == tz_gap_minutes(b, a) <= 720
    assert score(mentor(1, "python", 720), mentee(2, "python", -720))[0] == 1.0


def test_solver_scores_equal_score_units():
    rng = random.Random(11)
    topics = [f"t{i}" for i in range(40)]
    mentors = [
        Candidate(
            i, frozenset(rng.sample(topics, rng.randint(0, 30))), rng.randint(-720, 840), capacity=1
        )
        for i in range(30)
    ]
    mentees = [
        Candidate(
            100 + i, frozenset(rng.sample(topics, rng.randint(0, 30))), rng.randint(-720, 840)
        )
        for i in range(30)
    ]
    graph = build_graph(mentors, mentees, frozenset(), None)
    for m, e, units in zip(graph.mentor_idx, graph.mentee_idx, graph.units, strict=True):
        assert units == score_units(graph.mentors[m], graph.mentees[e])
    assert len(graph.units) == 30 * 30


def test_closer_time_zones_raise_the_score_linearly():
    scores = [score(mentor(1, "", 0), mentee(2, "", h * 60))[0] for h in range(13)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(0.3) and scores[6] == pytest.approx(0.15)
    assert scores[12] == 0.0


def test_shared_topics_raise_the_score():
    wish = mentee(10, "python, careers, sql")
    none, one, two = (mentor(1, "design"), mentor(2, "python"), mentor(3, "python, sql"))
    assert score(none, wish)[0] < score(one, wish)[0] < score(two, wish)[0]


def test_overlap_is_relative_to_the_mentees_topics():
    wish = mentee(10, "python")
    broad = mentor(1, "python, rust, sql, design, writing")
    assert score(broad, wish)[0] == score(mentor(2, "python"), wish)[0] == 1.0


def test_reasons_name_shared_topics_and_time_gap():
    wish = mentee(2, "careers, Python", tz=180)
    value, reasons = score(mentor(1, "Python, careers, rust", tz=60), wish)
    assert [(r.kind, r.text) for r in reasons] == [
        ("topics", "careers, python"),
        ("timezone", "2 h apart"),
    ]
    assert sum(r.weight for r in reasons) == pytest.approx(value, abs=1e-3)
    assert score(mentor(1, "", 0), mentee(2, "", 330))[1][-1].text == "5 h 30 min apart"


@pytest.mark.parametrize("regime", REGIMES)
def test_forbidden_pairs_are_never_proposed(regime):
    mentors = [mentor(1, "python"), mentor(2, "design")]
    mentees = [mentee(10, "python"), mentee(11, "design")]
    forbidden = {(1, 10), (2, 11)}  # the two best pairs were tried before
    result = match(mentors, mentees, forbidden=forbidden, _regime=regime)
    assert pairs_of(result) == {(1, 11), (2, 10)}
    assert not pairs_of(match(mentors, mentees, forbidden={(1, 10), (2, 10)}, _regime=regime)) & {
        (1, 10),
        (2, 10),
    }


@pytest.mark.parametrize("regime", REGIMES)
def test_member_is_never_paired_with_themself(regime):
    result = match([mentor(1, "python")], [mentee(1, "python")], _regime=regime)
    assert result.pairs == () and result.unmatched_mentees == (1,)


@pytest.mark.parametrize("regime", REGIMES)
def test_capacity_is_never_exceeded(regime):
    mentors = [mentor(1, "python", capacity=2), mentor(2, "design", capacity=1)]
    mentees = [mentee(10 + i, "python") for i in range(5)]
    result = match(mentors, mentees, _regime=regime)
    taken = [p.mentor_id for p in result.pairs]
    assert taken.count(1) == 2 and taken.count(2) == 1
    assert result.unmatched_mentors == () and len(result.unmatched_mentees) == 2


@pytest.mark.parametrize("regime", REGIMES)
def test_mentors_with_capacity_zero_get_nothing(regime):
    mentors = [mentor(1, "python", capacity=0), mentor(2, "design", capacity=1)]
    mentees = [mentee(10, "python"), mentee(11, "python")]
    result = match(mentors, mentees, _regime=regime)
    assert {p.mentor_id for p in result.pairs} == {2}
    assert 1 not in result.unmatched_mentors  # no capacity left to offer
    assert match([mentor(1, capacity=0)], [mentee(10)], _regime=regime).pairs == ()


@pytest.mark.parametrize("regime", REGIMES)
def test_more_pairs_beat_a_higher_score(regime):
    # Mentor 1 suits mentee 10 perfectly (1.0); mentee 11 shares nothing with anyone (0.3
    # for the time zone) and has met mentor 2 before, so only mentor 1 can take it.
    mentors = [mentor(1, "python, sql"), mentor(2, "design")]
    mentees = [mentee(10, "python, sql"), mentee(11, "rust")]
    forbidden = {(2, 11)}
    greedy = greedy_match(mentors, mentees, forbidden=forbidden)
    exact = match(mentors, mentees, forbidden=forbidden, _regime=regime)
    assert pairs_of(greedy) == {(1, 10)}  # greedy takes the 1.0 pair and strands mentee 11
    assert pairs_of(exact) == {(1, 11), (2, 10)}
    assert sum(p.score for p in exact.pairs) < sum(p.score for p in greedy.pairs)


@pytest.mark.parametrize("regime", REGIMES)
def test_priority_mentees_come_first_when_not_everyone_can_be_paired(regime):
    mentors = [mentor(1, "python")]
    mentees = [mentee(10, "python"), mentee(11, "design", tz=600, priority=True)]
    result = match(mentors, mentees, _regime=regime)
    assert pairs_of(result) == {(1, 11)}  # despite scoring far lower than mentee 10
    assert result.unmatched_mentees == (10,)


@pytest.mark.parametrize("regime", REGIMES)
def test_priority_does_not_cost_a_pair(regime):
    # Pairing the priority mentee would leave both others unpaired: cardinality wins.
    mentors = [mentor(1), mentor(2)]
    mentees = [mentee(10, priority=True), mentee(11), mentee(12)]
    forbidden = {(2, 10)}
    result = match(mentors, mentees, forbidden=forbidden | {(1, 11), (1, 12)}, _regime=regime)
    assert len(result.pairs) == 2 and (1, 10) in pairs_of(result)


@pytest.mark.parametrize("regime", REGIMES)
def test_max_tz_gap_is_respected(regime):
    mentors = [mentor(1, "python", tz=0), mentor(2, "python", tz=600)]
    mentees = [mentee(10, "python", tz=540), mentee(11, "python", tz=-300)]
    result = match(mentors, mentees, max_tz_gap_hours=3, _regime=regime)
    assert pairs_of(result) == {(2, 10)}
    assert result.unmatched_mentees == (11,) and result.unmatched_mentors == (1,)
    assert len(match(mentors, mentees, max_tz_gap_hours=5, _regime=regime).pairs) == 2


def test_output_is_deterministic_whatever_the_input_order():
    rng = random.Random(3)
    mentors = [Candidate(i, frozenset(rng.sample(VOCAB, 2)), 0, capacity=2) for i in range(8)]
    mentees = [Candidate(100 + i, frozenset(rng.sample(VOCAB, 2)), 0) for i in range(20)]
    for regime in REGIMES:
        first = match(mentors, mentees, _regime=regime)
        for _ in range(5):
            rng.shuffle(mentors)
            rng.shuffle(mentees)
            assert match(mentors, mentees, _regime=regime) == first
    assert [(p.mentor_id, p.mentee_id) for p in first.pairs] == sorted(pairs_of(first))


def test_duplicate_ids_are_rejected():
    with pytest.raises(ValueError):
        match([mentor(1), mentor(1)], [mentee(10)])


def test_scores_are_rounded_to_three_decimals():
    result = match([mentor(1, "python, sql", tz=0)], [mentee(10, "python, sql, rust", tz=100)])
    (pair,) = result.pairs
    assert pair.score == round(
        score(mentor(1, "python, sql"), mentee(10, "python, sql, rust", tz=100))[0], 3
    )
    assert pair.score == round(pair.score, 3)


@pytest.mark.parametrize("regime", REGIMES)
def test_matches_brute_force_on_small_random_cohorts(regime):
    rng = random.Random(20240611)
    for _ in range(1000):
        mentors, mentees, forbidden, max_gap = random_cohort(rng)
        result = match(
            mentors, mentees, forbidden=forbidden, max_tz_gap_hours=max_gap, _regime=regime
        )
        assert_valid(result, mentors, mentees, forbidden, max_gap)
        expected = brute_force(mentors, mentees, forbidden, max_gap)
        assert objective(result, mentors, mentees) == expected


@pytest.mark.parametrize("regime", REGIMES)
def test_coarser_scores_never_cost_a_pair_or_a_priority_mentee(regime, monkeypatch):
    # Force the precision fallback (a coarser score resolution) on small cohorts.
    monkeypatch.setattr(solvers, "EXACT_LIMIT", 5_000.0)
    rng = random.Random(8)
    for _ in range(300):
        mentors, mentees, forbidden, max_gap = random_cohort(rng)
        result = match(
            mentors, mentees, forbidden=forbidden, max_tz_gap_hours=max_gap, _regime=regime
        )
        assert_valid(result, mentors, mentees, forbidden, max_gap)
        best = brute_force(mentors, mentees, forbidden, max_gap)
        assert objective(result, mentors, mentees)[:2] == best[:2]


def test_regimes_agree_on_larger_cohorts():
    rng = random.Random(99)
    for size in (40, 120):
        mentors = [
            Candidate(
                i,
                frozenset(rng.sample(VOCAB, rng.randint(1, 3))),
                rng.choice(OFFSETS),
                capacity=rng.randint(0, 4),
            )
            for i in range(size // 3)
        ]
        mentees = [
            Candidate(
                1000 + i,
                frozenset(rng.sample(VOCAB, rng.randint(1, 3))),
                rng.choice(OFFSETS),
                priority=rng.random() < 0.1,
            )
            for i in range(size)
        ]
        forbidden = {(rng.choice(mentors).id, rng.choice(mentees).id) for _ in range(size)}
        for max_gap in (None, 4):
            kwargs = {"forbidden": forbidden, "max_tz_gap_hours": max_gap}
            dense, sparse, auto = (
                match(mentors, mentees, **kwargs, _regime=r) for r in (*REGIMES, None)
            )
            for result in (dense, sparse, auto):
                assert_valid(result, mentors, mentees, forbidden, max_gap)
            assert (
                objective(dense, mentors, mentees)
                == objective(sparse, mentors, mentees)
                == objective(auto, mentors, mentees)
            )


def test_greedy_baseline_follows_the_rules():
    rng = random.Random(5)
    for _ in range(100):
        mentors, mentees, forbidden, max_gap = random_cohort(rng)
        result = greedy_match(mentors, mentees, forbidden=forbidden, max_tz_gap_hours=max_gap)
        assert_valid(result, mentors, mentees, forbidden, max_gap)
        assert (
            objective(result, mentors, mentees)[0]
            <= brute_force(mentors, mentees, forbidden, max_gap)[0]
        )
