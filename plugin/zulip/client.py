"""The Zulip API adapter (docs/forums/zulip.md §3): form-encoded requests with HTTP basic auth.

A pair's thread is a group direct message. Zulip has no conversation id, so a thread is
named by the sorted, comma-joined user ids of its members other than the bot ("41,42"): the
same string the receiver derives from `display_recipient`, and the operand of a `dm` narrow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

from plugin.engine.adapter import (
    AlreadyInGroup,
    BotRefused,
    Expertise,
    ForumError,
    ForumGroup,
    ForumNotFound,
    ForumRateLimited,
    ForumRejected,
    ForumUnavailable,
    ForumUser,
    Gate,
    PublicQuestion,
    SentPost,
    Undeliverable,
    error_for_status,
    redirect_refused,
)
from plugin.netguard import MAX_ANSWER_BYTES, AnswerTooLarge, Refused, guarded_session
from plugin.storage.models import Forum
from plugin.zulip import public
from plugin.zulip.wire import (
    encode,
    marker_line,
    named_group,
    retry_after,
    thread_ids,
    thread_name,
)

TIMEOUT = (5, 20)  # connect, read
# GET /events blocks until an event or a heartbeat (45-55 s); Zulip's own client allows 90 s
# (EVENT_QUEUE_LONGPOLL_TIMEOUT_SECONDS), we add a margin for a slow network.
LONGPOLL_TIMEOUT = (5, 100)
# How many of the bot's latest DMs find_thread / find_post look through: Zulip's recommended
# maximum, about 5 minutes of sending at the full request budget after an uncertain send.
RECENT_CHECKED = 1000
OWNER, ADMIN = 100, 200  # Zulip role values
# POST /register with realm_user lists every user (about 0.5 KB each): a large organisation's
# state is well over the default cap, which still bounds what a forum can make us hold.
MAX_ANSWER = 4 * MAX_ANSWER_BYTES


class QueueExpired(ForumRejected):
    """400 BAD_EVENT_QUEUE_ID: the event queue was garbage-collected; register again."""


def _user(data: dict) -> ForumUser:
    role = data.get("role")
    return ForumUser(
        id=int(data["user_id"]),
        username=str(data["email"]),
        name=data.get("full_name") or None,
        admin=bool(data.get("is_admin") or data.get("is_owner") or role in (OWNER, ADMIN)),
        moderator=role == 300,
        timezone=data.get("timezone") or None,
    )


class ZulipClient:
    """Talks to one Zulip organisation as its bot."""

    def __init__(
        self,
        base_url: str,
        bot_email: str,
        api_key: str,
        *,
        gate: Gate | None = None,
        session: requests.Session | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot_email = bot_email
        self._gate = gate or (lambda: None)
        # Every connection, the event queue's long poll included, follows the forum URL rule.
        self._http = session or guarded_session(allowed_hosts, MAX_ANSWER)
        self._http.auth = (bot_email, api_key)
        self._http.headers.update({"Accept": "application/json"})
        self._hold_until = 0.0  # epoch seconds: X-RateLimit-Remaining reached 0 until then
        self._ids: dict[str, int] = {}  # email -> user id (ids never change)

    # -- transport ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | tuple[float, float] = TIMEOUT,
    ) -> Any:
        """One request under /api/v1, counted against the budget; JSON answer or typed error."""
        wait = self._hold_until - time.time()
        if wait > 0:
            # Zulip said no request is left until its reset: do not spend one to hear a 429.
            raise ForumRateLimited("Zulip's rate limit is used up", retry_after=wait)
        self._gate()
        encoded = encode(params or {})
        where: dict[str, Any] = {"params": encoded} if method == "GET" else {"data": encoded}
        try:
            response = self._http.request(
                method,
                f"{self.base_url}/api/v1{path}",
                timeout=timeout,
                allow_redirects=False,
                **where,
            )
        except (Refused, AnswerTooLarge) as exc:
            raise ForumUnavailable(f"Zulip at {self.base_url} was refused: {exc}") from None
        except requests.RequestException as exc:
            raise ForumUnavailable(f"Zulip did not answer: {type(exc).__name__}") from None
        self._note_rate_limit(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code < 300 and isinstance(body, dict):
            return body
        if response.status_code < 300:
            raise ForumUnavailable(f"Zulip sent no JSON object for {method} {path}")
        if response.status_code < 400:
            # Redirects are never followed (e.g. http:// to https://): the URL needs fixing.
            location = response.headers.get("Location", "?")
            raise redirect_refused("Zulip", method, path, location, response.status_code)
        raise self._error(method, path, response, body)

    def _note_rate_limit(self, response: requests.Response) -> None:
        """Read the rate-limit headers every response carries (api_docs/http-headers.md)."""
        try:
            remaining = int(response.headers["X-RateLimit-Remaining"])
            reset = float(response.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return
        if remaining <= 0:
            self._hold_until = max(self._hold_until, reset)

    def _error(self, method: str, path: str, response: requests.Response, body: Any) -> ForumError:
        """The typed error for an error answer; a 429 also holds every call until it passes."""
        status = response.status_code
        body = body if isinstance(body, dict) else {}
        code, msg = str(body.get("code") or ""), str(body.get("msg") or "")
        errors = [msg] if msg else []
        message = f"Zulip answered {status} {code} to {method} {path}" + (f": {msg}" if msg else "")
        if status == 429:
            wait = retry_after(response, body)
            self._hold_until = max(self._hold_until, time.time() + wait)
            return ForumRateLimited(message, retry_after=wait, status=status, errors=errors)
        if code == "BAD_EVENT_QUEUE_ID":
            return QueueExpired(message, status=status, errors=errors)
        return error_for_status(message, status, errors)

    # -- writes ------------------------------------------------------------------------

    def open_thread(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """A (group) direct message to exactly these members; the bot, its sender, is in it."""
        ids = [self._user_id(email) for email in usernames]
        # A direct message has no subject line: the title becomes its heading.
        return self._send(thread_name(ids), f"**{title}**\n\n{text}", marker)

    def open_chat(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """Zulip offers no chat space beside its direct messages (`--space chat` is refused)."""
        raise Undeliverable("Zulip has no chat space: its pairs talk in group direct messages")

    def find_chat(self, title: str, usernames: list[str], marker: str) -> SentPost | None:
        """Nothing: open_chat never sends."""
        return None

    def check_chat(self) -> None:
        """Zulip has no chat space (`program create` refuses `--space chat` before asking)."""
        raise ForumRejected("Zulip has no chat space: its pairs talk in group direct messages")

    def post(self, thread: str, text: str, marker: str) -> SentPost:
        """Another message in the same conversation, to those of its members still active.

        Zulip refuses a direct message to a deactivated user, where Discourse still posts
        in a private message whose member was deleted (e.g. the notice that a pairing ended
        because the partner's account is gone). So after a refusal the message goes to the
        members who remain; the audience only ever narrows.
        """
        try:
            return self._send(thread, text, marker)
        except ForumRejected:
            ids = thread_ids(thread)
            active = [i for i in ids if self._is_active(i)]
            if not active or active == ids:
                raise
            sent = self._send(thread_name(active), text, marker)
            return SentPost(thread=thread, post_id=sent.post_id)

    def _send(self, thread: str, text: str, marker: str) -> SentPost:
        body = {
            "type": "direct",
            "to": thread_ids(thread),
            "content": f"{text}\n\n{marker_line(marker)}",
        }
        sent = self._call("POST", "/messages", body)
        return SentPost(thread=thread, post_id=str(sent["id"]))

    def add_to_group(self, group_id: int, user: ForumUser) -> None:
        """POST /user_groups/{id}/members with `add` (NOTES.md section 6)."""
        try:
            self._call("POST", f"/user_groups/{int(group_id)}/members", {"add": [user.id]})
        except ForumRejected as exc:
            message = " ".join(exc.errors)
            # @require_member_or_admin up to 11.x; from 12.0 the group's own setting, whose
            # refusal is access_user_group_for_update's "Insufficient permission" (400).
            if any(
                m in message for m in ("does not accept bot requests", "Insufficient permission")
            ):
                raise BotRefused(str(exc), status=exc.status, errors=exc.errors) from None
            # zerver/views/user_groups.py: "User {id} is already a member of this group."
            if "already a member" in message:
                raise AlreadyInGroup(str(exc), status=exc.status, errors=exc.errors) from None
            raise

    def ask_publicly(self, place: str, question: PublicQuestion, marker: str) -> SentPost:
        """A stream message by the bot naming the member, in topic of the question's title."""
        body = public.stream_message(place, question, marker_line(marker))
        sent = self._call("POST", "/messages", body)
        url = public.narrow_url(self.base_url, place, body["topic"], sent["id"])
        return SentPost(thread=url, post_id=str(sent["id"]))

    def check_public_place(self, place: str) -> None:
        """The stream exists and the bot can see it ("Invalid channel name" otherwise)."""
        self._call("GET", "/get_stream_id", {"stream": place})

    def find_public(self, place: str, question: PublicQuestion, marker: str) -> SentPost | None:
        """The bot's stream message carrying this marker, among its latest there."""
        params = public.recent_params(place, self.bot_email, RECENT_CHECKED)
        messages = self._call("GET", "/messages", params).get("messages") or []
        return public.found(self.base_url, place, question, messages, marker_line(marker))

    # -- finding what we may already have sent ----------------------------------------

    def _find(self, marker: str) -> tuple[list[int], str] | None:
        """(recipients other than the bot, message id) of the bot's DM carrying `marker`."""
        params = {
            "anchor": "newest",
            "num_before": RECENT_CHECKED,
            "num_after": 0,
            "narrow": [
                {"operator": "is", "operand": "dm"},
                {"operator": "sender", "operand": self.bot_email},
            ],
            "apply_markdown": False,  # raw Markdown: the marker line as we wrote it
        }
        line = marker_line(marker)
        for message in reversed(self._call("GET", "/messages", params).get("messages") or []):
            if line in (message.get("content") or ""):
                others = [
                    int(r["id"])
                    for r in message.get("display_recipient") or []
                    if str(r.get("email", "")).lower() != self.bot_email.lower()
                ]
                return others, str(message["id"])
        return None

    def find_thread(self, marker: str) -> SentPost | None:
        """The conversation a message with this marker went to, among the bot's latest DMs."""
        found = self._find(marker)
        return SentPost(thread=thread_name(found[0]), post_id=found[1]) if found else None

    def find_post(self, thread: str, marker: str) -> SentPost | None:
        """Our message with this marker in this conversation (or to its remaining members)."""
        found = self._find(marker)
        if found and found[0] and set(found[0]) <= set(thread_ids(thread)):
            return SentPost(thread=thread, post_id=found[1])
        return None

    # -- users -------------------------------------------------------------------------

    def _user_id(self, email: str) -> int:
        key = email.lower()
        if key not in self._ids:
            self._ids[key] = self.get_user(email).id
        return self._ids[key]

    def _is_active(self, user_id: int) -> bool:
        try:
            return bool(self._call("GET", f"/users/{int(user_id)}")["user"].get("is_active"))
        except ForumRejected:  # 400 "No such user"
            return False

    def _user_json(self, ref: str) -> dict:
        try:
            return dict(self._call("GET", f"/users/{ref}")["user"])
        except ForumRejected as exc:
            # An unknown user is 400 BAD_REQUEST "No such user" (zerver/lib/users.py);
            # anything else (e.g. a redirect) stays what it was.
            if exc.status != 400:
                raise
            raise ForumNotFound(str(exc), status=exc.status, errors=exc.errors) from None

    def _get_user(self, ref: str) -> ForumUser:
        return _user(self._user_json(ref))

    def own_user(self) -> dict:
        """The bot's own User object, is_active included (GET /users/{email})."""
        return self._user_json(requests.utils.quote(self.bot_email, safe="@"))

    def get_user(self, username: str) -> ForumUser:
        """A user by the email Zulip's API reports (GET /users/{email}, FL 39+)."""
        return self._get_user(requests.utils.quote(username, safe="@"))

    def get_user_by_id(self, user_id: int) -> ForumUser:
        """A user by id: events carry only ids."""
        return self._get_user(str(int(user_id)))

    def list_admins(self) -> list[ForumUser]:
        """The organisation's owners and administrators, not bots, not deactivated."""
        members = self._call("GET", "/users").get("members") or []
        humans = [_user(u) for u in members if not u.get("is_bot") and u.get("is_active", True)]
        return [u for u in humans if u.admin]

    # -- user groups: bots may not call GET /user_groups (docs/forums/zulip.md §2.4) --------------

    def _snapshot(self, fetch: list[str]) -> dict:
        """Current state through POST /register, whose queue we then delete at once."""
        state = self.register(["user_group"], fetch)
        try:
            self.delete_queue(state["queue_id"])
        except ForumError:
            pass  # an unused queue is garbage-collected after 10 minutes anyway
        return state

    def default_language(self) -> str | None:
        """The organisation's language: realm_default_language in POST /register's realm data."""
        value = self._snapshot(["realm"]).get("realm_default_language")
        return value if isinstance(value, str) else None

    def expertise(self, username: str) -> Expertise | None:
        """None: Zulip's API keeps no per-member record of topics, likes or accepted answers."""
        return None

    def get_group(self, name: str) -> ForumGroup:
        """A user group by name."""
        group = named_group(self._snapshot(["realm_user_groups"]), name)
        return ForumGroup(id=int(group["id"]), name=str(group["name"]))

    def get_group_by_id(self, group_id: int) -> ForumGroup:
        """A user group by id (events carry only the id)."""
        for group in self._snapshot(["realm_user_groups"]).get("realm_user_groups") or []:
            if int(group["id"]) == int(group_id):
                return ForumGroup(id=int(group["id"]), name=str(group["name"]))
        raise ForumNotFound(f"Zulip has no user group {group_id}")

    def group_members(self, name: str) -> Iterator[ForumUser]:
        """The group's direct members who are active humans (as membership events report)."""
        state = self._snapshot(["realm_user_groups", "realm_user"])
        group = named_group(state, name)
        # realm_users holds active accounts only; deactivated ones are realm_non_active_users.
        users = {int(u["user_id"]): u for u in state.get("realm_users") or []}
        for user_id in group.get("members") or []:
            user = users.get(int(user_id))
            if user is not None and not user.get("is_bot"):
                yield _user(user)

    # -- the event queue (plugin/zulip/poller.py) -----------------------------------------

    def register(self, event_types: list[str], fetch_event_types: list[str]) -> dict:
        """POST /register: a new queue, and the initial state of `fetch_event_types`."""
        params = {"event_types": event_types, "fetch_event_types": fetch_event_types}
        return self._call("POST", "/register", params)

    def get_events(self, queue_id: str, last_event_id: int, *, block: bool) -> list[dict]:
        """GET /events after `last_event_id` (which acknowledges it); QueueExpired if gone."""
        params: dict[str, Any] = {"queue_id": queue_id, "last_event_id": last_event_id}
        if not block:
            params["dont_block"] = True
        timeout = LONGPOLL_TIMEOUT if block else TIMEOUT
        return self._call("GET", "/events", params, timeout=timeout).get("events") or []

    def delete_queue(self, queue_id: str) -> None:
        """DELETE /events: free a queue we no longer need."""
        self._call("DELETE", "/events", {"queue_id": queue_id})


def connect(forum: Forum, gate: Gate, allowed_hosts: frozenset[str] = frozenset()) -> ZulipClient:
    """The API client for a Zulip forum row (bot email and API key)."""
    return ZulipClient(
        forum.url, forum.bot_user, forum.api_key, gate=gate, allowed_hosts=allowed_hosts
    )
