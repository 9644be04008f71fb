"""A stub forum adapter for the engine's own tests: it records calls and fails on request.

No HTTP and no forum fake: the engine only needs the four calls that change or find posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.engine.adapter import SentPost


@dataclass
class StubAdapter:
    """Answers open_thread/post with made-up ids; `failures` are raised first, in order."""

    calls: list[tuple] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    found: dict[str, SentPost] = field(default_factory=dict)  # marker -> what find_* answers

    def _answer(self, *call: object) -> SentPost:
        self.calls.append(call)
        if self.failures:
            raise self.failures.pop(0)
        return SentPost(thread="t1", post_id=f"p{len(self.calls)}")

    def open_thread(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """Open a thread (recorded); or raise the next scripted failure."""
        return self._answer("open_thread", title, marker)

    def post(self, thread: str, text: str, marker: str) -> SentPost:
        """Post in a thread (recorded); or raise the next scripted failure."""
        return self._answer("post", thread, marker)

    def find_thread(self, marker: str) -> SentPost | None:
        """The thread opened with `marker`, if the test said it exists."""
        self.calls.append(("find_thread", marker))
        return self.found.get(marker)

    def find_post(self, thread: str, marker: str) -> SentPost | None:
        """The post carrying `marker`, if the test said it exists."""
        self.calls.append(("find_post", thread, marker))
        return self.found.get(marker)

    def sent(self) -> list[str]:
        """The markers of the calls that sent something, in order."""
        return [c[-1] for c in self.calls if c[0] in ("open_thread", "post")]
