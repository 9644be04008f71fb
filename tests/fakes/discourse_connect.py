"""A fake DiscourseConnect provider in front of the fake Discourse, on one real HTTP port.

`/session/sso_provider` behaves as NOTES.md §5 describes: it checks the request's signature,
then sends the browser back to `return_sso_url` with the signed-in user's fields, signed with
the same secret. Everything else goes to the fake Discourse's API.

    site = ConnectSite(fake, secret="...")
    site.signed_in = "alice"           # who is logged in at the forum
    with site.serve() as url: ...
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode

from flask import Flask, abort, redirect, request

from tests.fakes.discourse import FakeDiscourse
from tests.fakes.server import served


def _sign(secret: str, sso: str) -> str:
    return hmac.new(secret.encode(), sso.encode(), hashlib.sha256).hexdigest()


class ConnectSite:
    """The fake forum plus its DiscourseConnect provider endpoint."""

    def __init__(self, forum: FakeDiscourse, secret: str) -> None:
        self.forum = forum
        self.secret = secret
        self.signed_in: str | None = None
        self.answers: list[str] = []  # every URL the provider sent a browser back to
        self.app = Flask("fake_discourse_connect")
        self.app.add_url_rule("/session/sso_provider", view_func=self._provide)

    def _provide(self):
        sso, sig = request.args.get("sso", ""), request.args.get("sig", "")
        if not hmac.compare_digest(_sign(self.secret, sso), sig):
            abort(400, "DiscourseConnect: bad signature")  # Discourse's SignatureError
        fields = {k: v[0] for k, v in parse_qs(base64.b64decode(sso).decode()).items()}
        user = self.forum.user(self.signed_in) if self.signed_in else None
        if user is None:
            abort(403, "nobody is logged in at the fake forum")
        groups = ",".join(g.name for g in self.forum.groups_of(user))
        answer = {
            "nonce": fields["nonce"],
            "return_sso_url": fields["return_sso_url"],
            "external_id": str(user.id),
            "username": user.username,
            "name": user.name or "",
            "email": user.email,
            "admin": str(user.admin).lower(),
            "moderator": str(user.moderator).lower(),
            "groups": groups,
        }
        payload = base64.b64encode(urlencode(answer).encode()).decode()
        query = urlencode({"sso": payload, "sig": _sign(self.secret, payload)})
        url = f"{fields['return_sso_url']}?{query}"
        self.answers.append(url)
        return redirect(url)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/session/sso_provider":
            return self.app(environ, start_response)
        return self.forum.app(environ, start_response)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the forum and the provider on 127.0.0.1; yields the base URL."""
        with served(self) as url:
            self.forum.url = url
            try:
                yield url
            finally:
                self.forum.url = None
