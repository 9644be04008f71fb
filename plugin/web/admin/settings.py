"""The forum connection settings, described by manifest.json and stored on the Forum row.

Secrets are never sent back to the browser: the page says whether one is set, and a blank
field keeps the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from plugin.forums import registry
from plugin.forums.connections import set_webhook_secret
from plugin.i18n import N_
from plugin.netguard import Refused, check_url
from plugin.resources import manifest
from plugin.storage.models import Forum, utcnow

OPTIONAL = {"connect_secret"}  # may be cleared; everything else is required
MASK = "••••••••"  # the same for every secret: it gives away neither value nor length


@dataclass(frozen=True)
class Setting:
    key: str  # the form field's name, which the form handlers read: never shown as a label
    label: str  # what the page calls it, e.g. "API calls per minute"
    column: str | None  # None: described by the manifest, not editable here
    type: str
    secret: bool
    description: str
    minimum: float | None
    maximum: float | None
    value: str  # "" for secrets, always
    is_set: bool
    optional: bool


def settings_of(forum: Forum) -> list[Setting]:
    """Every setting the manifest lists for this kind of forum, with its current state."""
    kind = registry.kind_of(forum.kind)
    columns = kind.settings_columns if kind else {}
    found = []
    for key, spec in manifest()["forums"].get(forum.kind, {}).get("settings", {}).items():
        column = columns.get(key)
        current = getattr(forum, column) if column else None
        secret = bool(spec.get("secret"))
        found.append(
            Setting(
                key=key,
                label=spec.get("label") or key.replace("_", " ").capitalize(),
                column=column,
                type=spec.get("type", "string"),
                secret=secret,
                description=spec.get("description", ""),
                minimum=spec.get("min"),
                maximum=spec.get("max"),
                value="" if secret or current is None else str(current),
                is_set=current not in (None, ""),
                optional=key in OPTIONAL,
            )
        )
    return found


def _check(
    setting: Setting, text: str, allowed_hosts: frozenset[str] = frozenset()
) -> tuple[object, str | None]:
    """(value to store, error); a URL must pass the forum URL rule (plugin.netguard)."""
    if setting.type == "integer":
        try:
            number = int(text)
        except ValueError:
            return None, N_("must be a whole number")
        if setting.minimum is not None and number < setting.minimum:
            return None, N_("must be at least %(min)s", min=f"{setting.minimum:g}")
        if setting.maximum is not None and number > setting.maximum:
            return None, N_("must be at most %(max)s", max=f"{setting.maximum:g}")
        return number, None
    if not text:
        return None, N_("must not be empty")
    if setting.type == "url":
        try:
            parts = urlsplit(text)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None, N_("must be an http(s) URL")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None, N_("must be an http(s) URL")
        if parts.query or parts.fragment:
            return None, N_("must not carry a query or fragment")
        try:
            check_url(text, allowed_hosts)
        except Refused as exc:
            return None, N_("is refused: %(why)s", why=str(exc))
        return text.rstrip("/"), None
    if setting.minimum is not None and len(text) < setting.minimum:
        return None, N_("must be at least %(min)s characters", min=f"{setting.minimum:g}")
    if len(text) > 500:
        return None, N_("must be at most 500 characters")
    return text, None


URL_NEEDS_KEY = N_("can change only with the API key entered again in the same form")


def _moves_without_key(forum: Forum, changes: dict[str, object]) -> bool:
    """A new URL without a new API key: the stored key would be sent to that new server."""
    return changes.get("url", forum.url) != forum.url and "api_key" not in changes


def apply(
    forum: Forum, form: Mapping[str, str], allowed_hosts: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Validate everything, then store everything (or nothing): {key: error}.

    `allowed_hosts` is MENTORSHIP_ALLOWED_INTERNAL_HOSTS, for the forum's URL.
    """
    changes: dict[str, object] = {}
    errors: dict[str, str] = {}
    for setting in settings_of(forum):
        if setting.column is None:
            continue
        text = form.get(setting.key, "").strip()
        if setting.secret and setting.optional and form.get(f"clear-{setting.key}"):
            changes[setting.column] = None
            continue
        if setting.secret and not text:
            continue  # blank: keep the stored secret
        value, error = _check(setting, text, allowed_hosts)
        if error:
            errors[setting.key] = error
        else:
            changes[setting.column] = value
    if _moves_without_key(forum, changes):
        errors.setdefault("url", URL_NEEDS_KEY)
    if not errors:
        for column, value in changes.items():
            if column == "webhook_secret":
                # The old one overlaps a while; _check gave a str for this setting.
                set_webhook_secret(forum, cast(str, value), utcnow())
            else:
                setattr(forum, column, value)
    return errors
