"""A fake Discourse that answers over real HTTP on 127.0.0.1, checked against the real spec.

Every request is recorded, validated against shared/forums/discourse/openapi.json (a violation
is recorded and answered 400 so a wrong call never passes silently), then authenticated and
rate limited like Discourse's admin API, then answered by a handler in discourse_routes.
The chat plugin's routes, which openapi.json lacks, are checked by chat_check instead and
answered by discourse_chat (their state: fake.chat, a ChatState).

    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    fake.add_user("maya")
    with fake.serve() as url:
        requests.post(f"{url}/posts.json", json={...}, headers={"Api-Key": ..., ...})
    fake.assert_valid()

State lives in discourse_state (fake.users / groups / topics / posts: dicts id -> dataclass),
answers are built in discourse_shapes, endpoints are in discourse_routes.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request

from tests.fakes import (
    chat_check,
    discourse_categories,  # noqa: F401 - registers its routes
    discourse_chat,
    discourse_flags,  # noqa: F401 - registers its handler
    discourse_group_routes,  # noqa: F401 - its handlers register on import
    discourse_keys,
    openapi_check,
)
from tests.fakes.discourse_chat_state import ChatState, FakeChatChannel
from tests.fakes.discourse_routes import HANDLERS, Answer, Call, error
from tests.fakes.discourse_state import FakeUser, ForumState
from tests.fakes.server import served

RATE_LIMIT_WINDOW = 60.0  # seconds; RateLimiter.new(nil, "admin_api_min", limit, 60, ...)
INVALID_KEY = (
    "You are not permitted to view the requested resource. The API username or key is invalid."
)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass
class RecordedRequest:
    """One request as the fake received it; `status` is what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any] | None
    operation_id: str | None = None
    status: int = 0


@dataclass
class _Injection:
    method: str
    path_regex: str
    status: int
    times: int
    body: Any
    headers: dict[str, str] | None
    after: bool  # True: perform the action, then answer `status` instead of its real answer

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() == method and re.search(self.path_regex, path) is not None


def rate_limit_answer(wait_seconds: int) -> Answer:
    """Discourse's 429 from the admin API limiter (NOTES.md §4)."""
    time_left = f"{wait_seconds} second{'s' if wait_seconds != 1 else ''}"
    body = {
        "errors": [
            f"You’ve performed this action too many times. Please wait {time_left} before "
            "trying again."
        ],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": wait_seconds, "time_left": time_left},
    }
    headers = {
        "Retry-After": str(wait_seconds),
        "Discourse-Rate-Limit-Error-Code": "admin_api_key_rate_limit",
    }
    return Answer(429, body, headers)


class FakeDiscourse(ForumState):
    """An in-memory Discourse with the admin API's auth, rate limit and JSON shapes."""

    def __init__(
        self,
        api_key: str = "test-key",
        bot_username: str = "mentor_bot",
        rate_limit_per_minute: int = 60,
        clock: Callable[[], float] = time.time,
        *,
        bot_admin: bool = True,
        key_username: str | None = None,
        key_scopes: tuple[discourse_keys.KeyScope, ...] = (),
        memoize_seconds: float = 120.0,
    ) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.bot_username = bot_username
        self.rate_limit_per_minute = rate_limit_per_minute
        # None: an all-users key (any Api-Username); else a single-user key bound to that user.
        self.key_username = key_username
        # (): every route; else a granular key, allowed only what a scope permits.
        self.key_scopes = key_scopes
        self.memoize_seconds = memoize_seconds
        self.memo: dict[str, tuple[float, Answer]] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.rate_limited_count = 0
        # (group id, user id) of each member an API call added (discourse_group_routes).
        self.group_additions: list[tuple[int, int]] = []
        self.url: str | None = None
        self._window: deque[float] = deque()
        self._injections: list[_Injection] = []
        self.chat = ChatState()
        self.bot = self.add_user(bot_username, admin=bot_admin, moderator=not bot_admin)
        self.app = self.create_app()

    # ----- test controls ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` without performing them."""
        self._injections.append(_Injection(method, path_regex, status, times, body, headers, False))

    def accept_then_fail_next(self, method: str, path_regex: str, status: int = 500) -> None:
        """Perform the next matching request (the post IS created) but answer `status`."""
        self._injections.append(_Injection(method, path_regex, status, 1, None, None, True))

    def assert_valid(self) -> None:
        """Raise AssertionError listing every spec violation seen so far."""
        if self.violations:
            raise AssertionError("Discourse API misuse:\n" + "\n".join(self.violations))

    def user(self, username: str) -> FakeUser:
        """The account with this username (case-insensitive)."""
        found = self.user_named(username)
        if found is None:
            raise KeyError(username)
        return found

    # ----- chat (discourse_chat) ----------------------------------------------------------------

    @property
    def chat_channels(self) -> dict[int, FakeChatChannel]:
        """Every chat channel by id."""
        return self.chat.channels

    def chat_channel_of(self, *usernames: str) -> FakeChatChannel | None:
        """The newest chat channel holding exactly these users plus the bot, or None."""
        return discourse_chat.channel_of(self, *usernames)

    def chat_as(self, username: str, channel_id: int, text: str) -> dict[str, Any]:
        """A member writes in a channel; returns the chat_message_created webhook body."""
        return discourse_chat.chat_as(self, username, channel_id, text)

    def chat_messages_by(self, username: str) -> list[str]:
        """The raw text of every chat message this user wrote, oldest first."""
        return discourse_chat.messages_by(self, username)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the app on 127.0.0.1 on a free port; yields the base URL."""
        with served(self.app) as url:
            self.url = url
            try:
                yield url
            finally:
                self.url = None

    # ----- HTTP ------------------------------------------------------------------------------

    def create_app(self) -> Flask:
        """The Flask app: one catch-all route, dispatched by the spec's operationId."""
        app = Flask(f"fake_discourse_{id(self)}")

        @app.route("/", defaults={"path": ""}, methods=METHODS)
        @app.route("/<path:path>", methods=METHODS)
        def dispatch(path: str) -> Response:
            with self.lock:
                return self._respond(self._handle())

        return app

    def _handle(self) -> Answer:
        body, body_problems = self._read_body()
        recorded = RecordedRequest(
            request.method,
            request.path,
            request.args.to_dict(flat=False),
            dict(request.headers.items()),
            body,
        )
        self.requests.append(recorded)
        answer = self._answer(recorded, body_problems)
        recorded.status = answer.status
        if answer.status == 429:
            self.rate_limited_count += 1
        return answer

    def _answer(self, recorded: RecordedRequest, body_problems: list[str]) -> Answer:
        method, path = recorded.method, recorded.path
        match: openapi_check.Match | chat_check.ChatMatch | None
        if chat_check.is_chat_path(path):
            match = chat_check.match(method, path)
            checked = [f"{method} {path}: no chat route"] if match is None else []
            if match is not None:
                checked = chat_check.validate_request(match, recorded.query, recorded.body)
            prefix = "chat api"
        else:
            match = openapi_check.match_operation(method, path)
            checked = openapi_check.validate_request(
                method, path, recorded.query, recorded.headers, recorded.body
            )
            prefix = "openapi"
        problems = body_problems + checked
        if problems:
            self.violations += problems
            return Answer(400, {"errors": [f"{prefix}: {p}" for p in problems]})
        assert match is not None  # the request check found it
        recorded.operation_id = match.operation_id
        injected = self._take_injection(method, path, after=False)
        if injected:
            return injected
        user = self._authenticate(recorded.headers, method, match.operation_id)
        if user is None:
            return error(403, INVALID_KEY, "invalid_access")
        wait = self._rate_limit_wait()
        if wait:
            return rate_limit_answer(wait)
        handler = HANDLERS.get(match.operation_id)
        if handler is None:
            self.violations.append(f"{method} {path}: {match.operation_id} is not faked")
            return error(501, f"fake discourse does not implement {match.operation_id}")
        call = Call(user, match.path_params, recorded.query, recorded.body or {})
        answer = handler(self, call)
        return self._take_injection(method, path, after=True) or answer

    def _read_body(self) -> tuple[dict[str, Any] | None, list[str]]:
        if not request.content_length:
            return None, []
        if request.mimetype == "application/json":
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                return None, [f"{request.method} {request.path}: body is not JSON ({exc})"]
            if not isinstance(body, dict):
                return None, [f"{request.method} {request.path}: JSON body is not an object"]
            return body, []
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = request.form.to_dict(flat=False)
            if chat_check.is_chat_path(request.path):
                return chat_check.coerce_form(form), []
            return openapi_check.coerce_form(request.method, request.path, form), []
        return None, [f"{request.method} {request.path}: unsupported body type {request.mimetype}"]

    def _take_injection(self, method: str, path: str, *, after: bool) -> Answer | None:
        for injection in self._injections:
            if injection.after == after and injection.matches(method, path):
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                return self._injected_answer(injection)
        return None

    @staticmethod
    def _injected_answer(injection: _Injection) -> Answer:
        if injection.status == 429 and injection.body is None:
            answer = rate_limit_answer(1)  # short default so client retries stay fast
        else:
            default = {"errors": [f"fake discourse: injected {injection.status}"]}
            answer = Answer(injection.status, default if injection.body is None else injection.body)
        answer.headers.update(injection.headers or {})
        return answer

    def _authenticate(
        self, headers: dict[str, str], method: str, operation_id: str
    ) -> FakeUser | None:
        """Api-Key + Api-Username (default_current_user_provider): wrong either way -> None.

        A scoped key outside its scopes finds no user either (discourse_keys).
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        if lowered.get("api-key") != self.api_key:
            return None
        if not discourse_keys.request_allowed(self.key_scopes, method, operation_id):
            return None
        username = lowered.get("api-username")
        if username is None:
            # A single-user key may omit the username; an all-users key may not.
            username = self.key_username
        user = self.user_named(username) if username else None
        if user is None or not user.active:
            return None
        if self.key_username and user.username.lower() != self.key_username.lower():
            return None
        return user

    def _rate_limit_wait(self) -> int:
        """One shared sliding window for every admin-API request; seconds to wait, or 0."""
        now = self.clock()
        while self._window and self._window[0] <= now - RATE_LIMIT_WINDOW:
            self._window.popleft()
        if len(self._window) >= self.rate_limit_per_minute:
            return max(1, math.ceil(self._window[0] + RATE_LIMIT_WINDOW - now))
        self._window.append(now)
        return 0

    @staticmethod
    def _respond(answer: Answer) -> Response:
        if isinstance(answer.body, str):
            response = Response(answer.body, answer.status, mimetype="text/html")
        else:
            response = Response(json.dumps(answer.body), answer.status, mimetype="application/json")
        for name, value in answer.headers.items():
            response.headers[name] = value
        return response
