"""Forum secrets encrypted at rest (INTERFACE.md: "Secrets ... are stored encrypted").

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key derived
from MENTORSHIP_SECRET_KEY by HKDF-SHA256, stored as `enc:v1:<token>`. The prefix tells a
sealed value from the plain text an older database holds. Keys listed in
MENTORSHIP_PREVIOUS_SECRET_KEYS still open old values until `mentorship db rotate-secrets`
re-seals every value under the current key.

The keyring is process-wide, because SQLAlchemy gives a column type no handle to the app:
every entry point (CLI, create_app, Worker, the tests) calls `configure(config)` first.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text, column, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from plugin.config import Config

PREFIX = "enc:v1:"
# A fixed salt and a purpose-specific info: the derived key differs from the raw
# MENTORSHIP_SECRET_KEY that itsdangerous and Flask sign links and cookies with.
_SALT = b"forum-mentorship secretbox salt v1"
_INFO = b"forum-mentorship: forum secrets at rest (Fernet)"


class SecretError(RuntimeError):
    """A stored secret cannot be read or written; the message says what to do."""


def derive_key(secret_key: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) derived from one MENTORSHIP_SECRET_KEY."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


def is_sealed(value: str) -> bool:
    """True for a value this module wrote; False for legacy plain text."""
    return value.startswith(PREFIX)


class Keyring:
    """The current key (seals) and previous keys (still open what they sealed)."""

    def __init__(self, secret_key: str, previous: Iterable[str] = ()):
        if not secret_key:
            raise SecretError("MENTORSHIP_SECRET_KEY is empty: no key to encrypt secrets with")
        keys = [secret_key, *(k for k in previous if k and k != secret_key)]
        self._fernet = MultiFernet([Fernet(derive_key(k)) for k in keys])

    def seal(self, plain: str) -> str:
        """Encrypt under the current key."""
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def unseal(self, stored: str) -> str:
        """Decrypt a sealed value; legacy plain text is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretError(_UNREADABLE) from None

    def reseal(self, stored: str) -> str:
        """The same secret sealed under the current key (plain text gets sealed too)."""
        return self.seal(self.unseal(stored))


_UNREADABLE = (
    "a stored forum secret cannot be decrypted with MENTORSHIP_SECRET_KEY or "
    "MENTORSHIP_PREVIOUS_SECRET_KEYS; set the key it was stored under (README: "
    "'Secrets at rest and rotating the secret key')"
)
_keyring: Keyring | None = None
_configured_with: tuple[str, tuple[str, ...]] | None = None


def configure(config: Config) -> Keyring:
    """Use this Config's keys for every secret column in this process (cheap to repeat)."""
    global _keyring, _configured_with
    previous = tuple(config.previous_secret_keys)
    wanted = (config.secret_key, previous)
    if _keyring is None or _configured_with != wanted:
        _keyring, _configured_with = Keyring(config.secret_key, previous), wanted
    return _keyring


def reset() -> None:
    """Forget the keyring (tests use it to prove every entry point configures one)."""
    global _keyring, _configured_with
    _keyring, _configured_with = None, None


def signing_keys(secret_key: str) -> list[str]:
    """Keys for itsdangerous: the previous keys still verify links, the current one (last) signs.

    Rotating MENTORSHIP_SECRET_KEY would otherwise void every personal link already sent
    (sign-up, rating, admin) at once; while the old key is listed, they keep working.
    """
    if _configured_with is None or _configured_with[0] != secret_key:
        return [secret_key]
    return [*reversed(_configured_with[1]), secret_key]


def keyring() -> Keyring:
    """The process's keyring, or a clear error naming the missing step."""
    if _keyring is None:
        raise SecretError(
            "secret storage is not configured: call plugin.storage.secretbox.configure(config) "
            "before reading or writing forum secrets"
        )
    return _keyring


class EncryptedText(TypeDecorator):
    """A str column stored sealed: Python code sees plain text, the database never does."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else keyring().seal(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else keyring().unseal(value)


def encrypted_columns(metadata) -> list[tuple[str, list[str]]]:
    """(table, [columns]) for every EncryptedText column in the metadata."""
    found = []
    for tbl in metadata.sorted_tables:
        names = [c.name for c in tbl.columns if isinstance(c.type, EncryptedText)]
        if names:
            found.append((tbl.name, names))
    return found


def reseal_table(
    connection: Connection, name: str, columns: list[str], *, plain_only: bool = False
) -> int:
    """Re-seal stored values under the current key; how many values were written.

    Works on the raw stored text (untyped columns), so it also seals legacy plain text.
    With plain_only, values already sealed are left alone (what a migration wants).
    """
    ring = keyring()
    raw = table(name, column("id"), *(column(c) for c in columns))
    written = 0
    # FOR UPDATE (PostgreSQL): a secret changed meanwhile is not overwritten by its old value.
    for row in connection.execute(select(raw).with_for_update()).mappings().all():
        changes = {}
        for c in columns:
            value = row[c]
            if value is None or (plain_only and is_sealed(value)):
                continue
            changes[c] = ring.reseal(value)
        if changes:
            connection.execute(update(raw).where(raw.c.id == row["id"]).values(**changes))
            written += len(changes)
    return written
