"""Benchmark the exact matching engine against the greedy baseline on a realistic cohort.

    python bench/matching.py [--mentees 5000 --mentors 1000 --seed 1] [--max-tz-gap H]
                             [--regime auto|dense|sparse] [--check] [--expertise]

Prints the wall time of ``match``, its peak memory (tracemalloc peak of a second, traced run,
and the process max RSS), how many mentees it paired and the total score, and the same
counts for ``greedy_match``. ``--check`` also solves with the other regime and compares the
objective, as evidence that both are exact. ``--expertise`` gives every mentor forum activity
in 5 categories named like the topics, the worst case of the expertise signal.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.domain.matching import Candidate, MatchResult, greedy_match, match, score_units  # noqa: E402
from plugin.domain.matching.scoring import SCORE_UNITS  # noqa: E402

# ~60 community topics, most popular first (popularity falls off Zipf-like with the rank).
VOCABULARY = tuple(
    t.strip().lower()
    for t in """
    Python, JavaScript, Career change, Web development, Job search, Data science, SQL,
    Machine learning, Open source, Git, Linux, TypeScript, Interviews, Frontend, Backend,
    DevOps, Cloud, Testing, Databases, Leadership, Rust, Go, Java, Security, Kubernetes,
    Statistics, Public speaking, Writing, Documentation, Design, Accessibility, UX research,
    Product management, Mobile apps, Kotlin, Swift, C++, Game development, Embedded,
    Hardware, Networking, Performance, Architecture, Code review, Freelancing, Negotiation,
    Management, Visualisation, Community building, Productivity, Burnout, Remote work,
    Startups, Academia, Mentoring others, Technical writing, Functional programming,
    Compilers, Accessibility audits, Data engineering
""".split(",")
)
# (UTC offset in minutes, share of members): the Americas, Europe, India, East Asia, Oceania.
REGIONS = (
    (-480, 10),
    (-360, 6),
    (-300, 14),
    (-180, 5),
    (0, 10),
    (60, 18),
    (120, 6),
    (330, 12),
    (480, 9),
    (540, 5),
    (600, 4),
    (720, 1),
)


def _topics(rng: random.Random, zipf: list[float]) -> frozenset[str]:
    want = rng.randint(1, 5)
    chosen: set[str] = set()
    while len(chosen) < want:
        chosen.add(rng.choices(VOCABULARY, weights=zipf)[0])
    return frozenset(chosen)


def _offset(rng: random.Random) -> int:
    centre = rng.choices([c for c, _ in REGIONS], weights=[w for _, w in REGIONS])[0]
    # Most members sit on their region's main offset; some one hour either side (DST,
    # neighbouring zones), a few on half-hour zones.
    return centre + rng.choice((0, 0, 0, 0, 60, -60, 30))


def cohort(
    n_mentees: int, n_mentors: int, seed: int
) -> tuple[list[Candidate], list[Candidate], set[tuple[int, int]]]:
    """Mentors, mentees and earlier pairings with Zipf-like topic popularity."""
    rng = random.Random(seed)
    zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(VOCABULARY))]
    mentors = [
        Candidate(1 + i, _topics(rng, zipf), _offset(rng), capacity=rng.randint(1, 5))
        for i in range(n_mentors)
    ]
    mentees = []
    forbidden: set[tuple[int, int]] = set()
    for i in range(n_mentees):
        mentee_id = 1_000_001 + i
        returning = rng.random() < 0.2  # has been paired before
        ended_on_them = returning and rng.random() < 0.15  # mentor left, program closed...
        if returning:
            for _ in range(rng.randint(1, 3)):
                forbidden.add((rng.choice(mentors).id, mentee_id))
        mentees.append(
            Candidate(mentee_id, _topics(rng, zipf), _offset(rng), priority=ended_on_them)
        )
    return mentors, mentees, forbidden


def with_expertise(mentors: list[Candidate], seed: int) -> list[Candidate]:
    """Every mentor active in 5 forum categories named like topics ("Python", "Data science")."""
    rng = random.Random(seed)
    return [
        dataclasses.replace(
            m, expertise=frozenset(t.capitalize() for t in rng.sample(VOCABULARY, 5))
        )
        for m in mentors
    ]


def _figures(
    result: MatchResult, mentors: list[Candidate], mentees: list[Candidate]
) -> tuple[int, int, int]:
    """(pairs, priority pairs, total score units): the objective, compared exactly."""
    mentor_by_id, mentee_by_id = {m.id: m for m in mentors}, {e.id: e for e in mentees}
    return (
        len(result.pairs),
        sum(mentee_by_id[p.mentee_id].priority for p in result.pairs),
        sum(
            score_units(mentor_by_id[p.mentor_id], mentee_by_id[p.mentee_id]) for p in result.pairs
        ),
    )


def _summary(result: MatchResult, mentors: list[Candidate], mentees: list[Candidate]) -> str:
    pairs, priority, units = _figures(result, mentors, mentees)
    return (
        f"paired {pairs} (priority {priority}/{sum(m.priority for m in mentees)}), "
        f"total score {units / SCORE_UNITS:.4f}"
    )


def main() -> None:
    """Generate a cohort, time match and greedy_match, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentees", type=int, default=5000)
    parser.add_argument("--mentors", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-tz-gap", type=float, default=None, help="hours")
    parser.add_argument("--regime", choices=("auto", "dense", "sparse"), default="auto")
    parser.add_argument("--check", action="store_true", help="compare with the other regime")
    parser.add_argument("--expertise", action="store_true", help="mentors with forum activity")
    args = parser.parse_args()

    mentors, mentees, forbidden = cohort(args.mentees, args.mentors, args.seed)
    if args.expertise:
        mentors = with_expertise(mentors, args.seed)
    slots = sum(m.capacity for m in mentors)
    print(
        f"cohort: {len(mentees)} mentees, {len(mentors)} mentors, {slots} slots, "
        f"{len(forbidden)} forbidden pairs, {sum(m.priority for m in mentees)} priority, "
        f"max tz gap {'none' if args.max_tz_gap is None else f'{args.max_tz_gap} h'}, "
        f"regime {args.regime}"
    )
    regime = None if args.regime == "auto" else args.regime
    kwargs = {"forbidden": forbidden, "max_tz_gap_hours": args.max_tz_gap}

    start = time.perf_counter()
    result = match(mentors, mentees, **kwargs, _regime=regime)
    wall = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    tracemalloc.start()
    match(mentors, mentees, **kwargs, _regime=regime)
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    print(
        f"match:  {wall:.2f} s wall, tracemalloc peak {traced_peak_mb:.0f} MiB, "
        f"max RSS {rss_mb:.0f} MiB"
    )
    print(f"match:  {_summary(result, mentors, mentees)}")

    start = time.perf_counter()
    greedy = greedy_match(mentors, mentees, **kwargs)
    print(f"greedy: {_summary(greedy, mentors, mentees)} ({time.perf_counter() - start:.2f} s)")

    if args.check:
        others = ("dense", "sparse") if regime is None else ({"dense", "sparse"} - {regime})
        for other in others:
            alt = match(mentors, mentees, **kwargs, _regime=other)
            same = _figures(alt, mentors, mentees) == _figures(result, mentors, mentees)
            print(
                f"check:  {other} regime {_summary(alt, mentors, mentees)}"
                f" -> {'same objective' if same else 'DIFFERENT'}"
            )


if __name__ == "__main__":
    main()
