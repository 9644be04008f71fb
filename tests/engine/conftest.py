"""The engine's own fixtures: a database, a forum row, and a stub adapter instead of a forum."""

from __future__ import annotations

import pytest

from tests.engine.stub import StubAdapter


@pytest.fixture
def stub() -> StubAdapter:
    """The adapter every forum of the test answers with."""
    return StubAdapter()
