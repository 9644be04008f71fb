"""The Discourse API adapter (docs/forums/discourse.md §3): Api-Key and Api-Username headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import requests

from plugin.discourse.chat import Chat, chat_channel
from plugin.engine.adapter import (
    AlreadyInGroup,
    BotRefused,
    Expertise,
    ForumAuthError,
    ForumGroup,
    ForumNotFound,
    ForumRateLimited,
    ForumRejected,
    ForumUnavailable,
    ForumUser,
    Gate,
    PublicQuestion,
    SentPost,
    error_for_status,
    redirect_refused,
)
from plugin.netguard import AnswerTooLarge, Refused, guarded_session

TIMEOUT = (5, 20)  # connect, read: Discourse's own emitter allows 20 s
MEMBERS_PAGE = 1000  # MEMBERS_MAX_PAGE_SIZE
RECENT_POSTS_CHECKED = 10  # how far back find_post looks in a thread
# PostActionType.types[:notify_moderators] (app/models/post_action_type.rb; NOTES.md §7).
NOTIFY_MODERATORS = 7


def marker_comment(marker: str) -> str:
    """The invisible line a post carries so that we can find it again."""
    return f"<!-- mentorship:{marker} -->"


def _errors(body: Any) -> list[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e) for e in body["errors"]]
    # The chat plugin's policies answer {"error": "..."} (direct_messages_controller.rb).
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return [body["error"]]
    return []


def _retry_after(response: requests.Response, body: Any) -> float:
    header = response.headers.get("Retry-After", "")
    if header.strip().isdigit():
        return float(header)
    extras = body.get("extras") if isinstance(body, dict) else None
    if isinstance(extras, dict) and isinstance(extras.get("wait_seconds"), int | float):
        return float(extras["wait_seconds"])
    return 60.0


def _user(data: dict) -> ForumUser:
    return ForumUser(
        id=int(data["id"]),
        username=str(data["username"]),
        name=data.get("name") or None,
        admin=bool(data.get("admin")),
        moderator=bool(data.get("moderator")),
        timezone=data.get("timezone") or (data.get("user_option") or {}).get("timezone"),
        # Present for staff keys, and not null only where the site allows user locales.
        locale=data["locale"] if isinstance(data.get("locale"), str) else None,
        locale_known="locale" in data,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _expertise(summary: dict) -> Expertise:
    """The parts of user_summary we show and score (NOTES.md "Expertise signals")."""
    categories = tuple(
        (str(c["name"]), _count(c.get("post_count")))
        for c in summary.get("top_categories") or []
        if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"].strip()
    )
    # discourse-solved adds `solved_count` to this serializer (plugin.rb:
    # `add_to_serializer(:user_summary, :solved_count) { object.solved_count }`, counted in
    # lib/discourse_solved/user_summary_extension.rb); without the plugin the key is absent.
    solved = summary.get("solved_count")
    return Expertise(
        top_categories=categories,
        likes_received=_count(summary.get("likes_received")),
        accepted_answers=_count(solved) if isinstance(solved, int) else None,
    )


class DiscourseClient:
    """Talks to one Discourse site as its bot user."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_username: str,
        *,
        gate: Gate | None = None,
        session: requests.Session | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_username = api_username
        self._gate = gate or (lambda: None)
        # Every connection follows the forum URL rule (MENTORSHIP_ALLOWED_INTERNAL_HOSTS).
        self._http = session or guarded_session(allowed_hosts)
        self._http.headers.update(
            {"Api-Key": api_key, "Api-Username": api_username, "Accept": "application/json"}
        )
        self._chat = Chat(self._json, api_username)

    # -- transport ---------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, redirect_ok: bool = False, **kw
    ) -> requests.Response:
        """One request, counted against the budget; errors become typed exceptions."""
        self._gate()
        try:
            # Redirects are never followed: a forum URL must not bounce us elsewhere.
            response = self._http.request(
                method, self.base_url + path, timeout=TIMEOUT, allow_redirects=False, **kw
            )
        except (Refused, AnswerTooLarge) as exc:
            raise ForumUnavailable(f"Discourse at {self.base_url} was refused: {exc}") from None
        except requests.RequestException as exc:
            raise ForumUnavailable(f"Discourse did not answer: {type(exc).__name__}") from None
        if response.status_code < 300 or (redirect_ok and response.status_code < 400):
            return response
        if response.status_code < 400:
            # e.g. http:// answered with a redirect to https://: the --url needs fixing.
            location = response.headers.get("Location", "?")
            raise redirect_refused("Discourse", method, path, location, response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = _errors(body)
        status = response.status_code
        message = f"Discourse answered {status} to {method} {path}" + (
            f": {'; '.join(errors)}" if errors else ""
        )
        if status == 429:
            raise ForumRateLimited(
                message, retry_after=_retry_after(response, body), status=status, errors=errors
            )
        raise error_for_status(message, status, errors)

    def _json(self, method: str, path: str, **kw) -> Any:
        response = self._call(method, path, **kw)
        try:
            return response.json()
        except ValueError:
            raise ForumUnavailable(f"Discourse sent no JSON for {method} {path}") from None

    # -- writes ------------------------------------------------------------------------

    def open_thread(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """A private message to exactly these users (and the bot, its author)."""
        body = {
            "title": title,
            "raw": f"{text}\n\n{marker_comment(marker)}",
            "archetype": "private_message",
            "target_recipients": ",".join(usernames),
            # A topic external_id lets find_thread() ask Discourse for this exact topic.
            "external_id": f"mentorship-{marker}",
        }
        post = self._json("POST", "/posts.json", json=body)
        return SentPost(thread=str(post["topic_id"]), post_id=str(post["id"]))

    def open_chat(self, title: str, text: str, usernames: list[str], marker: str) -> SentPost:
        """A chat direct-message channel of these users and the bot, opened with `text`."""
        return self._chat.open(title, text, usernames, marker)

    def post(self, thread: str, text: str, marker: str) -> SentPost:
        """A reply in an existing topic or private message, or a message in a chat channel."""
        if chat_channel(thread) is not None:
            return self._chat.post(thread, text, marker)
        body = {"topic_id": int(thread), "raw": f"{text}\n\n{marker_comment(marker)}"}
        post = self._json("POST", "/posts.json", json=body)
        return SentPost(thread=str(post["topic_id"]), post_id=str(post["id"]))

    def flag_post(self, post_id: int, username: str, message: str) -> None:
        """Flag a post for the moderators' review queue (notify_moderators), as `username`.

        POST /post_actions.json (PostActionsController#create): `message` becomes the flag's
        text, and Discourse opens a private message from the flagger to the moderators.
        Acting as another user needs an API key for all users (the README says so).
        """
        body = {"id": post_id, "post_action_type_id": NOTIFY_MODERATORS, "message": message}
        self._call("POST", "/post_actions.json", json=body, headers={"Api-Username": username})

    def add_to_group(self, group_id: int, user: ForumUser) -> None:
        """PUT /groups/{id}/members.json with `usernames` (groups_controller.rb#add_members)."""
        path = f"/groups/{int(group_id)}/members.json"
        try:
            self._json("PUT", path, json={"usernames": user.username})
        except ForumAuthError as exc:
            # 403: an automatic group, or one the bot neither owns nor administers. A bad
            # API key would have failed every earlier call; this one needs a person.
            raise BotRefused(str(exc), status=exc.status, errors=exc.errors) from None
        except ForumRejected as exc:
            # 422 "'bob' is already a member of this group." (all of them were members).
            if exc.status == 422 and any("already a member" in e for e in exc.errors):
                raise AlreadyInGroup(str(exc), status=exc.status, errors=exc.errors) from None
            raise

    def ask_publicly(self, place: str, question: PublicQuestion, marker: str) -> SentPost:
        """A new topic in category `place`, created as the member (an all-users API key)."""
        body = {
            "title": question.title,
            "raw": question.text,  # the member's words alone: the post is theirs
            "category": int(place),
            # As for private messages: find_public() asks Discourse for this exact topic.
            "external_id": f"mentorship-{marker}",
        }
        # Api-Username names who acts (NOTES.md section 7, "Public topics"); this request's
        # header replaces the session's bot user for this call alone.
        post = self._json(
            "POST", "/posts.json", json=body, headers={"Api-Username": question.author}
        )
        return SentPost(self._topic_url(post.get("topic_slug"), post["topic_id"]), str(post["id"]))

    def find_public(self, place: str, question: PublicQuestion, marker: str) -> SentPost | None:
        """The topic created with this marker's external_id, at its web address."""
        found = self.find_thread(marker)
        if found is None:
            return None
        topic = self._json("GET", f"/t/{int(found.thread)}.json")
        return SentPost(self._topic_url(topic.get("slug"), found.thread), found.post_id)

    def check_public_place(self, place: str) -> None:
        """The category exists and the bot may see it (404 / 403 otherwise)."""
        self._json("GET", f"/c/{int(place)}/show.json")

    def _topic_url(self, slug: Any, topic_id: Any) -> str:
        """/t/{slug}/{id}; Discourse itself writes `topic` where a title makes no slug."""
        return f"{self.base_url}/t/{slug or 'topic'}/{int(topic_id)}"

    # -- finding what we may already have sent ----------------------------------------

    def find_thread(self, marker: str) -> SentPost | None:
        """The topic created with this marker's external_id, if Discourse has it."""
        try:
            response = self._call(
                "GET", f"/t/external_id/mentorship-{marker}.json", redirect_ok=True
            )
        except ForumNotFound:
            return None
        match = re.search(r"/(\d+)(?:\.json)?(?:[?#].*)?$", response.headers.get("Location", ""))
        if not match:
            raise ForumUnavailable("Discourse's external_id redirect had no topic id")
        topic_id = match.group(1)
        topic = self._json("GET", f"/t/{topic_id}.json")
        first = (topic.get("post_stream") or {}).get("stream") or [""]
        return SentPost(thread=topic_id, post_id=str(first[0]))

    def check_chat(self) -> None:
        """ForumRejected when the bot cannot use chat spaces here (chat off, or not for it)."""
        self._chat.check()

    def find_chat(self, title: str, usernames: list[str], marker: str) -> SentPost | None:
        """The chat channel an earlier open_chat() with this marker opened, if it did."""
        return self._chat.find_open(title, usernames, marker)

    def find_post(self, thread: str, marker: str) -> SentPost | None:
        """Our post carrying this marker among the thread's latest posts, if any."""
        if chat_channel(thread) is not None:
            return self._chat.find(thread, marker)
        topic = self._json("GET", f"/t/{int(thread)}.json")
        recent = ((topic.get("post_stream") or {}).get("stream") or [])[-RECENT_POSTS_CHECKED:]
        if not recent:
            return None
        listing = self._json(
            "GET", f"/t/{int(thread)}/posts.json", params=[("post_ids[]", i) for i in recent]
        )
        ours = [
            p["id"]
            for p in (listing.get("post_stream") or {}).get("posts", [])
            if p.get("username") == self.api_username
        ]
        comment = marker_comment(marker)
        for post_id in sorted(ours, reverse=True):
            post = self._json("GET", f"/posts/{int(post_id)}.json")
            if comment in (post.get("raw") or ""):
                return SentPost(thread=str(thread), post_id=str(post_id))
        return None

    # -- reads -------------------------------------------------------------------------

    def get_user(self, username: str) -> ForumUser:
        """A user by username (GET /u/{username}.json)."""
        return _user(self._json("GET", f"/u/{requests.utils.quote(username)}.json")["user"])

    def key_scopes(self, as_user: str) -> list[str] | None:
        """The API key's scopes as "resource:action" ([]: none, every route), asked as `as_user`.

        GET /session/scopes.json (SessionController#scopes) answers {"scopes": [...]}, and
        ApiKey#request_allowed? lets every key call it whatever its scopes. None: the answer
        was not of that shape.
        """
        body = self._json("GET", "/session/scopes.json", headers={"Api-Username": as_user})
        scopes = body.get("scopes") if isinstance(body, dict) else None
        if not isinstance(scopes, list) or not all(isinstance(s, dict) for s in scopes):
            return None
        return [f"{s.get('resource')}:{s.get('key') or s.get('action')}" for s in scopes]

    def get_user_by_id(self, user_id: int) -> ForumUser:
        """A user by id (GET /admin/users/{id}.json: webhooks carry only ids), with their locale."""
        user = _user(self._json("GET", f"/admin/users/{int(user_id)}.json"))
        # Only the profile (GET /u/{username}.json) carries the account's own locale.
        try:
            profile = self.get_user(user.username)
        except ForumNotFound:
            return user  # hidden from us: the language stays what we knew
        return replace(user, locale=profile.locale, locale_known=profile.locale_known)

    def expertise(self, username: str) -> Expertise | None:
        """The member's summary (GET /u/{username}/summary.json): one call, read-only."""
        body = self._json("GET", f"/u/{requests.utils.quote(username)}/summary.json")
        summary = body.get("user_summary") if isinstance(body, dict) else None
        return _expertise(summary) if isinstance(summary, dict) else None

    def default_language(self) -> str | None:
        """The site's default_locale: `locale` in GET /site/basic-info.json (public)."""
        value = self._json("GET", "/site/basic-info.json").get("locale")
        return value if isinstance(value, str) else None

    def get_group(self, name: str) -> ForumGroup:
        """A group by name."""
        group = self._json("GET", f"/groups/{requests.utils.quote(name)}.json")["group"]
        return ForumGroup(id=int(group["id"]), name=str(group["name"]))

    def get_group_by_id(self, group_id: int) -> ForumGroup:
        """A group by id (membership webhooks carry only the id)."""
        group = self._json("GET", f"/groups/by-id/{int(group_id)}.json")["group"]
        return ForumGroup(id=int(group["id"]), name=str(group["name"]))

    def group_members(self, name: str) -> Iterator[ForumUser]:
        """Every member of a group, page by page in the order they joined."""
        offset = 0
        while True:
            page = self._json(
                "GET",
                f"/groups/{requests.utils.quote(name)}/members.json",
                params={
                    "limit": MEMBERS_PAGE,
                    "offset": offset,
                    "order": "added_at",
                    "asc": "true",
                },
            )
            members = page.get("members") or []
            yield from (_user(m) for m in members)
            offset += len(members)
            total = int((page.get("meta") or {}).get("total", 0))
            if not members or offset >= total:
                return

    def list_admins(self) -> list[ForumUser]:
        """The forum's human admins (not `system`, not the bot)."""
        staff = self._json("GET", "/admin/users/list/staff.json")
        return [
            _user(u)
            for u in staff
            if u.get("admin") and int(u.get("id", 0)) > 0 and u.get("username") != self.api_username
        ]
