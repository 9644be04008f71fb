"""Configuration from the environment (docs/operator-interface.md): database, keys, URLs."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from plugin.netguard import SETTING as ALLOWED_HOSTS_SETTING
from plugin.netguard import normal_host

DEFAULT_DATABASE_URL = "sqlite:///mentorship.db"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36500  # a hundred years: beyond that, date arithmetic overflows
LOG_FORMAT_SETTING = "MENTORSHIP_LOG_FORMAT"
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Config:
    """Settings the service reads at start-up."""

    database_url: str
    secret_key: str
    base_url: str
    lease_seconds: float = 120.0
    # Old MENTORSHIP_SECRET_KEY values that still decrypt stored secrets until they are
    # re-encrypted (`mentorship db rotate-secrets`); never used to encrypt or sign.
    previous_secret_keys: tuple[str, ...] = ()
    # Hosts a forum URL may use although they resolve to internal addresses (plugin.netguard).
    allowed_internal_hosts: frozenset[str] = frozenset()
    # Days processed events and sent forum calls are kept before the worker deletes them.
    retention_days: int = DEFAULT_RETENTION_DAYS
    log_format: str = "text"  # MENTORSHIP_LOG_FORMAT: "text" or "json" (plugin/logs.py)

    @property
    def is_sqlite(self) -> bool:
        """True when the database URL is SQLite's."""
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Make a plain postgresql:// URL use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _kept_secret_key(db_file: Path) -> str:
    """A random key created once and kept beside the SQLite file (mode 0600)."""
    key_file = db_file.with_name(db_file.name + ".secret-key")
    existing = _read_key(key_file)
    if existing:
        _owner_only(key_file)
        return existing
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place: a reader never
    # sees a half-written or empty key, and of two processes starting at once one wins.
    fd, tmp = tempfile.mkstemp(dir=key_file.parent, prefix=".secret-key-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            if not _read_key(key_file):  # an empty file left by a crash: replace it
                os.replace(tmp, key_file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    key = _read_key(key_file)
    if not key:
        raise ConfigError(f"could not create the secret key file {key_file}")
    return key


def _owner_only(path: Path) -> None:
    # A key file copied in or restored from a backup may have lost its 0600 mode.
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError as exc:  # e.g. another user's file: still usable, but say so
        logging.getLogger(__name__).warning("could not make %s owner-only: %s", path, exc)


def _read_key(key_file: Path) -> str:
    try:
        return key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def _is_host(text: str) -> bool:
    """A bare host name or IP address: no scheme, port or path."""
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return False
        return True
    return bool(re.fullmatch(r"[a-z0-9._-]+", text))


def allowed_hosts(text: str) -> frozenset[str]:
    """MENTORSHIP_ALLOWED_INTERNAL_HOSTS: comma-separated host names, as written in URLs."""
    hosts = {normal_host(entry) for entry in text.split(",")} - {""}
    for host in hosts:
        # A port, scheme or path would never match a URL's host: say so instead.
        if not _is_host(host):
            raise ConfigError(
                f"{ALLOWED_HOSTS_SETTING} lists host names without scheme, port or path, "
                f"not {host!r}"
            )
    return frozenset(hosts)


def load_config(environ: dict[str, str] | None = None) -> Config:
    """Read MENTORSHIP_* variables, applying the documented defaults."""
    env = os.environ if environ is None else environ
    url = normalise_database_url(env.get("MENTORSHIP_DATABASE_URL") or DEFAULT_DATABASE_URL)
    try:
        make_url(url)
    except Exception as exc:
        raise ConfigError(f"MENTORSHIP_DATABASE_URL is not a database URL: {exc}") from None
    key = env.get("MENTORSHIP_SECRET_KEY", "").strip()
    if not key:
        if not url.startswith("sqlite"):
            raise ConfigError("MENTORSHIP_SECRET_KEY is required when the database is not SQLite")
        db_file = _sqlite_file(url)
        key = _kept_secret_key(db_file) if db_file else secrets.token_urlsafe(48)
    base_url = (env.get("MENTORSHIP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    try:
        lease = float(env.get("MENTORSHIP_LEASE_SECONDS") or 120)
    except ValueError:
        raise ConfigError("MENTORSHIP_LEASE_SECONDS must be a number of seconds") from None
    if not 1 <= lease <= 86400:
        raise ConfigError("MENTORSHIP_LEASE_SECONDS must be between 1 and 86400")
    return Config(
        database_url=url,
        secret_key=key,
        base_url=base_url,
        lease_seconds=lease,
        previous_secret_keys=_previous_keys(env.get("MENTORSHIP_PREVIOUS_SECRET_KEYS", "")),
        allowed_internal_hosts=allowed_hosts(env.get(ALLOWED_HOSTS_SETTING, "")),
        retention_days=retention_days(env.get("MENTORSHIP_RETENTION_DAYS", "")),
        log_format=log_format(env),
    )


def retention_days(text: str) -> int:
    """MENTORSHIP_RETENTION_DAYS: a positive whole number of days; blank is the default."""
    text = text.strip()
    if not text:
        return DEFAULT_RETENTION_DAYS
    # ASCII digits only (int() would take "+3", "3_0" and other scripts' digits), and few
    # of them: int() refuses more than 4300.
    digits = text.isascii() and text.isdigit() and len(text) <= 6
    if not digits or not 1 <= int(text) <= MAX_RETENTION_DAYS:
        raise ConfigError(
            f"MENTORSHIP_RETENTION_DAYS must be a whole number of days from 1 to "
            f"{MAX_RETENTION_DAYS}, not {text[:40]!r}"
        )
    return int(text)


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """MENTORSHIP_LOG_FORMAT: `text` (the default) or `json`, one JSON object a line."""
    env = os.environ if environ is None else environ
    value = (env.get(LOG_FORMAT_SETTING) or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"{LOG_FORMAT_SETTING} must be text or json, not {value!r}")
    return value


def _previous_keys(text: str) -> tuple[str, ...]:
    """MENTORSHIP_PREVIOUS_SECRET_KEYS: comma-separated, newest first, blanks ignored."""
    return tuple(key.strip() for key in text.split(",") if key.strip())
