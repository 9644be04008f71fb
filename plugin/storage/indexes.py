"""Partial indexes of the queues and pairs: what each holds, written as literal WHEREs.

A partial index is used only when the query repeats its WHERE term, and SQLite cannot match
a bound parameter against it: the claims (plugin/engine/leases.py), the retention purge
(plugin/engine/retention.py) and the scheduler (plugin/domain/schedule.py) repeat these.
"""

from __future__ import annotations

from sqlalchemy import Index, text

# The rows of a queue that are not finished (plugin.engine.leases.OPEN_STATES), written as
# literals: a partial index is only used when the query repeats its WHERE term, and SQLite
# cannot match a bound parameter against it. Finished rows (kept for deduplication and
# diagnosis) are most of a busy table; the claim reads only these indexes, so its cost
# follows the waiting work, not what was kept.
OPEN_ROWS = "state IN ('pending', 'sending')"


# Pairs the scheduler moves along (plugin.domain.pairs.ACTIVE), literal for the same reason.
RUNNING_PAIRS = "state IN ('active', 'paused')"


def open_index(name: str, *columns: str) -> Index:
    """An index of a queue's unfinished rows only (a partial index on both databases)."""
    where = text(OPEN_ROWS)
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


def finished_index(name: str, column: str, state: str) -> Index:
    """An index of a queue's rows finished as `state`, by `column` (the retention purge's).

    Partial, so that it holds nothing the claim looks for: an index that began with the
    state column offered both databases a way to every waiting row, which they took.
    """
    where = text(f"state = '{state}'")
    return Index(name, column, sqlite_where=where, postgresql_where=where)
