"""The logical clock: `worker --once --now T` runs as if the time were T throughout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; a value without an offset is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Clock:
    """Real time, or one fixed instant when `fixed` is set."""

    fixed: datetime | None = None

    def now(self) -> datetime:
        """The logical time: what schedules, budgets and retries are computed from."""
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    @property
    def frozen(self) -> bool:
        """True when the time is fixed (tests, --now), not the real clock."""
        return self.fixed is not None
