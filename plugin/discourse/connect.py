"""DiscourseConnect provider mode, our side: the signed request and the signed answer.

Discourse is the identity provider (NOTES.md §5): we send `nonce` and `return_sso_url`,
base64-encoded and signed with HMAC-SHA256 (hex) over the base64 text; the forum sends the
person back with a payload signed the same way. No database and no Flask here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from plugin.forums.kind import SignedIn, SignInRefused


class ConnectError(SignInRefused):
    """The forum's answer cannot be trusted or used; the message says why."""


@dataclass(frozen=True)
class ConnectUser:
    """Who the forum says signed in."""

    nonce: str
    external_id: str
    username: str
    name: str | None
    admin: bool
    moderator: bool


def signature(secret: str, sso: str) -> str:
    """HMAC-SHA256 hex of the base64 text, exactly as sent (before URL-encoding)."""
    return hmac.new(secret.encode(), sso.encode(), hashlib.sha256).hexdigest()


def encode(fields: dict[str, str]) -> str:
    """A payload as Discourse expects it: a query string, base64 (standard alphabet)."""
    return base64.b64encode(urlencode(fields).encode()).decode("ascii")


def request_url(forum_url: str, secret: str, nonce: str, return_url: str) -> str:
    """Where to send the browser: the forum's /session/sso_provider with sso and sig."""
    sso = encode({"nonce": nonce, "return_sso_url": return_url})
    query = urlencode({"sso": sso, "sig": signature(secret, sso)})
    return f"{forum_url.rstrip('/')}/session/sso_provider?{query}"


def _decode(sso: str) -> dict[str, str]:
    # Older Discourse versions wrapped base64 lines (Base64.encode64), hence the newlines
    # NOTES.md lists as allowed: drop whitespace, but accept nothing else off-alphabet.
    try:
        raw = base64.b64decode("".join(sso.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ConnectError("the sign-in answer is not a DiscourseConnect payload") from None
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def verify(secret: str, sso: str, sig: str) -> ConnectUser:
    """Check the forum's signature in constant time, then read who signed in."""
    expected = signature(secret, sso).encode()
    # Bytes, not str: compare_digest refuses non-ASCII str, and `sig` comes from the URL.
    if not sso or not hmac.compare_digest(expected, sig.strip().lower().encode("utf-8")):
        raise ConnectError("the sign-in answer's signature does not match this forum's secret")
    fields = _decode(sso)
    if fields.get("failed") == "true":
        raise ConnectError("the forum reports that nobody is signed in there")
    missing = [k for k in ("nonce", "external_id", "username") if not fields.get(k)]
    if missing:
        raise ConnectError(f"the sign-in answer lacks {', '.join(missing)}")
    return ConnectUser(
        nonce=fields["nonce"],
        external_id=fields["external_id"],
        username=fields["username"],
        name=fields.get("name") or None,
        admin=fields.get("admin") == "true",
        moderator=fields.get("moderator") == "true",
    )


def signed_in(secret: str, args: Mapping[str, str]) -> SignedIn:
    """The answer's query arguments (sso, sig) checked, as the core's record of who signed in."""
    user = verify(secret, args.get("sso", ""), args.get("sig", ""))
    raw = user.external_id
    # Discourse user ids are 32-bit; below 1 are its system and bot accounts, never people here.
    valid = raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31
    return SignedIn(
        nonce=user.nonce,
        username=user.username,
        user_id=int(raw) if valid else None,
        is_forum_admin=user.admin,  # moderators administer programs, not the connection
        is_forum_staff=user.admin or user.moderator,
    )
