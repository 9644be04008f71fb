"""The request budget on its own: a rolling minute per forum, and a 429's pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugin.engine.adapter import BudgetExhausted
from plugin.engine.budget import WINDOW, budget_gate, pause_forum, reserve_call
from plugin.engine.clock import Clock
from plugin.storage.db import transaction
from plugin.storage.models import Forum
from tests.ingest_support import add_zulip_forum

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def budget_of_3(sessions, forum) -> int:
    """The test forum, allowed three calls a minute; its id."""
    with transaction(sessions) as session:
        session.get(Forum, forum.id).request_budget = 3
    return forum.id


def ask(sessions, forum_id: int, at: datetime):
    with transaction(sessions) as session:
        return reserve_call(session, forum_id, at)


def test_the_budget_grants_n_calls_a_minute_then_says_when_a_slot_frees(sessions, budget_of_3):
    at = [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    assert [ask(sessions, budget_of_3, t).granted for t in at] == [True, True, True]
    refused = ask(sessions, budget_of_3, T0 + timedelta(seconds=30))
    assert not refused.granted
    assert refused.retry_at.replace(tzinfo=UTC) == T0 + WINDOW


def test_the_window_rolls(sessions, budget_of_3):
    for seconds in (0, 10, 20):
        ask(sessions, budget_of_3, T0 + timedelta(seconds=seconds))
    assert ask(sessions, budget_of_3, T0 + WINDOW + timedelta(seconds=1)).granted
    assert not ask(sessions, budget_of_3, T0 + WINDOW + timedelta(seconds=2)).granted


def test_budgets_are_per_forum(sessions, budget_of_3):
    other = add_zulip_forum(sessions)
    for _ in range(3):
        ask(sessions, budget_of_3, T0)
    assert not ask(sessions, budget_of_3, T0).granted
    assert ask(sessions, other.id, T0).granted


def test_a_pause_refuses_every_call_until_it_ends_and_never_shrinks(sessions, budget_of_3):
    until = T0 + timedelta(seconds=90)
    with transaction(sessions) as session:
        pause_forum(session, budget_of_3, until)
        pause_forum(session, budget_of_3, T0 + timedelta(seconds=5))  # an earlier end: ignored
    refused = ask(sessions, budget_of_3, T0 + timedelta(seconds=89))
    assert (refused.granted, refused.retry_at.replace(tzinfo=UTC)) == (False, until)
    assert ask(sessions, budget_of_3, until + timedelta(seconds=1)).granted


def test_the_gate_of_a_frozen_clock_raises_instead_of_waiting(sessions, budget_of_3):
    gate = budget_gate(sessions, budget_of_3, Clock(T0), wait=True)
    for _ in range(3):
        gate()
    with pytest.raises(BudgetExhausted) as raised:
        gate()
    assert raised.value.retry_at.replace(tzinfo=UTC) == T0 + WINDOW
