"""Forum expertise beside topics in matching: a bonus where known, the old scores where not."""

from __future__ import annotations

import random

import pytest

from plugin.domain.expertise import expertise_line
from plugin.domain.matching import Candidate, match, normalise_topics, score, score_units
from plugin.domain.matching.graph import build_graph
from plugin.domain.matching.scoring import expertise_matches
from plugin.engine.adapter import Expertise

VOCAB = ("algebra", "python", "linear algebra", "careers", "data science")
CATEGORIES = ("Algebra", "Linear Algebra", "Python Help", "Careers", "Off topic")


def mentor(id: int, topics: str, tz: int = 0, expertise: tuple[str, ...] = ()) -> Candidate:
    return Candidate(id, normalise_topics(topics), tz, capacity=1, expertise=frozenset(expertise))


def mentee(id: int, topics: str, tz: int = 0) -> Candidate:
    return Candidate(id, normalise_topics(topics), tz)


def test_a_topic_names_a_category_by_whole_words_in_any_case():
    found = expertise_matches(frozenset({"Linear Algebra", "Python Help"}), frozenset(VOCAB))
    assert found == {
        "algebra": "Linear Algebra",
        "linear algebra": "Linear Algebra",
        "python": "Python Help",
    }
    assert expertise_matches(frozenset({"Algebraic Geometry"}), frozenset({"algebra"})) == {}


def test_activity_in_the_mentees_topic_raises_the_score_and_says_why():
    wish = mentee(10, "algebra, careers")
    plain, expert = mentor(1, "algebra"), mentor(2, "algebra", expertise=("Algebra",))
    value, reasons = score(expert, wish)
    assert value == pytest.approx(score(plain, wish)[0] + 0.05)
    assert [(r.kind, r.text) for r in reasons] == [
        ("topics", "algebra"),
        ("expertise", "forum activity in Algebra"),
        ("timezone", "same time zone"),
    ]


def test_without_expertise_the_scores_are_as_before():
    wish = mentee(10, "algebra, careers", tz=120)
    # 0.7 x 1/2 shared topics + 0.3 x (720 - 120) / 720 apart: the formula before expertise.
    assert score(mentor(1, "algebra"), wish)[0] == pytest.approx(0.35 + 0.25)
    assert score_units(mentor(1, "algebra"), wish) == 6000
    unrelated = mentor(2, "algebra", expertise=("Off topic",))
    assert score(unrelated, wish) == score(mentor(2, "algebra"), wish)
    assert score_units(unrelated, wish) == 6000


def test_a_score_with_expertise_never_exceeds_one():
    best = mentor(1, "algebra", expertise=("Algebra",))
    assert score(best, mentee(2, "algebra"))[0] == 1.0
    assert score_units(best, mentee(2, "algebra")) == 10_000


def test_expertise_changes_who_is_matched_and_the_stated_reason():
    wish = mentee(10, "linear algebra, careers", tz=0)
    near = mentor(1, "linear algebra", tz=0)  # 0.35 + 0.3
    far = mentor(2, "linear algebra", tz=60)  # 0.35 + 0.275
    assert [p.mentor_id for p in match([near, far], [wish]).pairs] == [1]
    active = mentor(2, "linear algebra", tz=60, expertise=("Linear Algebra",))  # + 0.05
    [pair] = match([near, active], [wish]).pairs
    assert pair.mentor_id == 2
    assert "forum activity in Linear Algebra" in [r.text for r in pair.reasons]


def test_the_graphs_units_equal_score_units_with_expertise():
    rng = random.Random(5)

    def topics() -> frozenset[str]:
        return frozenset(rng.sample(VOCAB, rng.randint(0, 3)))

    def categories() -> frozenset[str]:
        return frozenset(rng.sample(CATEGORIES, rng.randint(0, 2)))

    mentors = [
        Candidate(
            i,
            topics(),
            rng.randint(-720, 840),
            expertise=frozenset(rng.sample(CATEGORIES, rng.randint(0, 2))),
        )
        for i in range(25)
    ]
    mentees = [Candidate(100 + i, topics(), rng.randint(-720, 840)) for i in range(25)]
    graph = build_graph(mentors, mentees, frozenset(), None)
    assert any(expertise_matches(m.expertise, e.topics) for m in mentors for e in mentees)
    for m, e, units in zip(graph.mentor_idx, graph.mentee_idx, graph.units, strict=True):
        assert units == score_units(graph.mentors[m], graph.mentees[e])


# -- the directory card's line -----------------------------------------------------------------


def test_the_line_names_the_busiest_category_and_accepted_answers_in_english():
    found = Expertise((("Algebra", 23), ("Geometry", 4)), likes_received=3, accepted_answers=7)
    assert expertise_line(found, "en") == "23 posts in Algebra, 7 accepted answers"


def test_the_line_in_german():
    found = Expertise((("Algebra", 23),), likes_received=3, accepted_answers=7)
    assert expertise_line(found, "de") == "23 Beiträge in Algebra, 7 akzeptierte Antworten"


def test_the_line_uses_each_languages_singular():
    found = Expertise((("Algebra", 1),), likes_received=0, accepted_answers=1)
    assert expertise_line(found, "en") == "1 post in Algebra, 1 accepted answer"
    assert expertise_line(found, "de") == "1 Beitrag in Algebra, 1 akzeptierte Antwort"


def test_the_line_leaves_out_accepted_answers_the_forum_does_not_count():
    found = Expertise((("Algebra", 1234),), likes_received=0, accepted_answers=None)
    assert expertise_line(found, "de") == "1.234 Beiträge in Algebra"


def test_no_line_without_anything_to_show():
    assert expertise_line(None, "en") is None
    assert expertise_line(Expertise((), likes_received=9, accepted_answers=0), "en") is None
