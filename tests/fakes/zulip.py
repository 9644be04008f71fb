"""A fake Zulip that answers over real HTTP on 127.0.0.1, checked against the real spec.

Every request is recorded and validated against shared/forums/zulip/zulip.yaml (a violation
is recorded and answered 400, so a wrong call never passes silently); then authenticated
with HTTP basic auth (bot email : API key) and rate limited per user like Zulip's
api_by_user rule (200 per minute, X-RateLimit-* headers on every answer, 429 with a float
Retry-After); then answered by a handler in zulip_routes. Its own 2xx answers and the
outgoing-webhook payloads it builds are checked against the spec too.

    fake = FakeZulip(api_key="test-key", bot_email="mentor-bot@zulip.example.com")
    fake.add_user("maya@example.com", id=42)
    with fake.serve() as url:
        ...
    payload = fake.dm("maya@example.com", [fake.bot_email], "!signup")  # what Zulip POSTs
    fake.assert_valid()
"""

from __future__ import annotations

import base64
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

from tests.fakes import zulip_spec
from tests.fakes.server import served
from tests.fakes.zulip_routes import HANDLERS, Answer, Call, error
from tests.fakes.zulip_state import OrgState, ZMessage, ZUser

RATE_LIMIT_WINDOW = 60.0  # api_by_user: (60, 200)
METHODS = ["GET", "POST", "DELETE", "PATCH", "PUT"]
WEBHOOK_TOKEN = "xvOzfurIutdRRVLzpXrIIHXJvNfaJLJ0"  # the spec example's token


@dataclass
class RecordedRequest:
    """One request as the fake received it; `status` is what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]] | None
    headers: dict[str, str]
    operation_id: str | None = None
    status: int = 0

    def param(self, name: str) -> Any:
        """A query or body value, JSON-decoded where it is JSON."""
        raw = (self.form or {}).get(name) or self.query.get(name)
        if raw is None:
            return None
        try:
            return json.loads(raw[-1])
        except ValueError:
            return raw[-1]


@dataclass
class _Injection:
    method: str
    path_regex: str
    status: int
    times: int
    body: Any
    headers: dict[str, str] | None

    def matches(self, method: str, path: str) -> bool:
        return self.method.upper() == method and re.search(self.path_regex, path) is not None


def rate_limited(retry_after: float) -> Answer:
    """Zulip's 429 (zerver/lib/exceptions.py RateLimitedError)."""
    body = {
        "result": "error",
        "msg": "API usage exceeded rate limit",
        "code": "RATE_LIMIT_HIT",
        "retry-after": retry_after,
    }
    return Answer(429, body, {"Retry-After": str(retry_after)})


class FakeZulip(OrgState):
    """An in-memory Zulip organisation with the REST API's auth, rate limits and shapes."""

    def __init__(
        self,
        api_key: str = "test-key",
        bot_email: str = "mentor-bot@zulip.example.com",
        *,
        bot_id: int = 25,
        rate_limit_per_minute: int = 200,
        longpoll_seconds: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.bot = self.add_user(bot_email, id=bot_id, full_name="Mentor Bot", is_bot=True)
        self.bot_email = bot_email
        self.webhook_token = WEBHOOK_TOKEN
        self.rate_limit_per_minute = rate_limit_per_minute
        self.longpoll_seconds = longpoll_seconds  # a real server waits ~50 s for a heartbeat
        self.long_polls = 0
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.url: str | None = None
        self._windows: dict[int, deque[float]] = {}
        self._injections: list[_Injection] = []
        self.app = self._create_app()

    # ----- test controls ----------------------------------------------------------------------

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
        self._injections.append(_Injection(method, path_regex, status, times, body, headers))

    def assert_valid(self) -> None:
        if self.violations:
            raise AssertionError("Zulip API misuse:\n" + "\n".join(self.violations))

    def calls(self, operation_id: str) -> list[RecordedRequest]:
        """The requests made to one operation of the spec."""
        return [r for r in self.requests if r.operation_id == operation_id]

    def dm(
        self, sender: str, to: list[str], content: str, *, at: int | None = None
    ) -> dict[str, Any] | None:
        """A member sends a direct message (at epoch `at`); what Zulip POSTs to the bot.

        Only a human's message in a conversation that includes the bot triggers the
        outgoing webhook (NOTES.md §1.2); otherwise None.
        """
        with self.lock:
            author = self.user(sender)
            message = self.add_message(author.user_id, [self.user(t).user_id for t in to], content)
            if at is not None:
                message.timestamp = at
            if author.is_bot or self.bot.user_id not in message.recipients:
                return None
            return self.webhook_payload(message)

    def webhook_payload(self, message: ZMessage) -> dict[str, Any]:
        """The outgoing-webhook body for a message (outgoing_webhook.py make_request)."""
        payload = {
            "data": message.content,
            "message": self.message_api(message, markdown=False, raw_too=True),
            "bot_email": self.bot.email,
            "bot_full_name": self.bot.full_name,
            "token": self.webhook_token,
            "trigger": "direct_message",
        }
        self.violations += zulip_spec.outgoing_webhook_errors(payload)
        return payload

    def conversation(self, *emails: str) -> list[ZMessage]:
        """Messages of the direct-message conversation of exactly these users and the bot."""
        with self.lock:
            wanted = frozenset({self.bot.user_id, *(self.user(e).user_id for e in emails)})
            return sorted(
                (m for m in self.messages.values() if m.recipients == wanted), key=lambda m: m.id
            )

    def texts(self, *emails: str) -> list[str]:
        """The contents of that conversation, oldest first."""
        return [m.content for m in self.conversation(*emails)]

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the app on 127.0.0.1 on a free port; yields the base URL."""
        with served(self.app) as url:
            self.url = url
            try:
                yield url
            finally:
                self.url = None

    # ----- HTTP -------------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(f"fake_zulip_{id(self)}")

        @app.route("/", defaults={"path": ""}, methods=METHODS)
        @app.route("/<path:path>", methods=METHODS)
        def dispatch(path: str) -> Response:
            with self.lock:
                return self._respond(*self._handle())

        return app

    def _handle(self) -> tuple[Answer, dict[str, str]]:
        form = request.form.to_dict(flat=False) if request.content_length else None
        recorded = RecordedRequest(
            request.method,
            request.path,
            request.args.to_dict(flat=False),
            form,
            dict(request.headers.items()),
        )
        self.requests.append(recorded)
        match, problems = zulip_spec.validate_request(
            recorded.method, recorded.path, recorded.query, form, request.mimetype
        )
        if problems:
            self.violations += problems
            recorded.status = 400
            return error(400, "openapi: " + "; ".join(problems)), {}
        recorded.operation_id = match.operation_id
        answer, headers = self._answer(match, recorded)
        recorded.status = answer.status
        self.violations += zulip_spec.validate_response(match, answer.status, answer.body)
        return answer, headers

    def _answer(self, match, recorded: RecordedRequest) -> tuple[Answer, dict[str, str]]:
        user = self._authenticate(recorded.headers)
        if isinstance(user, Answer):
            return user, {}
        limited, headers = self._rate_limit(user)
        if limited:
            return limited, headers
        injected = self._take_injection(recorded.method, recorded.path)
        if injected:
            return injected, headers
        handler = HANDLERS.get(match.operation_id)
        if handler is None:
            self.violations.append(f"{match.operation_id} is not faked")
            return error(501, f"fake Zulip does not implement {match.operation_id}"), headers
        params = zulip_spec.decode(match, recorded.query, recorded.form)
        return handler(self, Call(user, match.path_params, params)), headers

    def _authenticate(self, headers: dict[str, str]) -> ZUser | Answer:
        """HTTP basic auth, email:api_key (zerver/decorator.py validate_api_key)."""
        value = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not value.startswith("Basic "):
            return error(401, "Missing 'Authorization' header.", "UNAUTHORIZED")
        try:
            email, _, key = base64.b64decode(value[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return error(401, "Invalid authorization header for basic auth", "UNAUTHORIZED")
        try:
            user = self.user(email)
        except KeyError:
            return error(401, "Invalid API key", "INVALID_API_KEY")
        if user.user_id != self.bot.user_id or key != self.api_key:
            return error(401, "Invalid API key", "INVALID_API_KEY")
        if not user.is_active:
            return error(401, "Account is deactivated", "USER_DEACTIVATED")
        return user

    def _rate_limit(self, user: ZUser) -> tuple[Answer | None, dict[str, str]]:
        """A sliding window per user; the headers Zulip's middleware adds to every answer."""
        now = self.clock()
        window = self._windows.setdefault(user.user_id, deque())
        while window and window[0] <= now - RATE_LIMIT_WINDOW:
            window.popleft()
        limit = self.rate_limit_per_minute
        if len(window) >= limit:
            wait = window[0] + RATE_LIMIT_WINDOW - now
            headers = self._limit_headers(limit, 0, window)
            answer = rate_limited(round(wait, 6))
            return Answer(429, answer.body, {**answer.headers, **headers}), headers
        window.append(now)
        return None, self._limit_headers(limit, limit - len(window), window)

    @staticmethod
    def _limit_headers(limit: int, remaining: int, window: deque[float]) -> dict[str, str]:
        reset = math.ceil(window[-1] + RATE_LIMIT_WINDOW) if window else 0
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    def _take_injection(self, method: str, path: str) -> Answer | None:
        for injection in self._injections:
            if injection.matches(method, path):
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                if injection.status == 429 and injection.body is None:
                    answer = rate_limited(1.5)
                else:
                    default = {"result": "error", "msg": "injected", "code": "BAD_REQUEST"}
                    answer = Answer(injection.status, injection.body or default)
                answer.headers.update(injection.headers or {})
                return answer
        return None

    @staticmethod
    def _respond(answer: Answer, headers: dict[str, str]) -> Response:
        response = Response(json.dumps(answer.body), answer.status, mimetype="application/json")
        for name, value in {**headers, **answer.headers}.items():
            response.headers[name] = value
        return response
