"""Encryption at rest of secrets we must read back (partner webhook and chat-robot signing
secrets): Fernet (AES-128-CBC + HMAC-SHA256) under ``LIAISON_SECRETS_KEY``.

Stored form
    ``enc:v1:<Fernet token>``. The marker tells ciphertext from the plain text that rows
    written before encryption hold: :meth:`SecretsBox.open` decrypts marked values and
    returns any other value unchanged (legacy plain text), so an upgrade needs no data
    migration and old rows keep signing. Plain values are replaced by ciphertext whenever
    the secret is written again, and by the notify worker's housekeeping
    (:func:`services.notify.scheduled.reseal_secrets`). Everything written now is sealed.

Keys and rotation
    ``LIAISON_SECRETS_KEY`` holds one or more comma-separated Fernet keys (url-safe base64 of
    32 bytes, e.g. ``Fernet.generate_key()``). The first encrypts; all of them decrypt
    (``MultiFernet``). To rotate: put the new key first and keep the old one after it; the
    notify worker re-encrypts every stored secret under the new key at its next
    housekeeping pass (it logs how many), after which the old key can go.

Neither errors nor ``repr`` ever carry a secret or a key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import Settings

MARKER = "enc:v1:"


class SecretsKeyError(ValueError):
    """``LIAISON_SECRETS_KEY`` is empty or holds something that is not a Fernet key."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key (wrong or dropped key)."""


class SecretsBox:
    """Seals secrets for storage and opens them again; see the module docstring."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SecretsKeyError("LIAISON_SECRETS_KEY holds no key")
        fernets = []
        for position, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part))
            except (ValueError, TypeError):
                raise SecretsKeyError(
                    f"LIAISON_SECRETS_KEY: key {position} is not a Fernet key"
                    " (url-safe base64 of 32 bytes)"
                ) from None
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "SecretsBox(<keys hidden>)"

    def seal(self, secret: str) -> str:
        """The stored form of ``secret``: encrypted with the first key, marked."""
        return MARKER + self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret of a stored value; unmarked (legacy) values are plain text already."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(MARKER).encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the keys in LIAISON_SECRETS_KEY"
            ) from None

    def open_optional(self, stored: str | None) -> str | None:
        return None if stored is None else self.open(stored)

    def resealed(self, stored: str) -> str | None:
        """``stored`` sealed under the first key; None if it already is. Legacy plain text
        gets sealed, values under an older key are re-encrypted (they stay readable)."""
        if not is_sealed(stored):
            return self.seal(stored)
        token = stored.removeprefix(MARKER).encode("ascii")
        try:
            self._primary.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return MARKER + self._fernet.rotate(token).decode("ascii")
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the keys in LIAISON_SECRETS_KEY"
            ) from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(MARKER)


@lru_cache(maxsize=8)
def _box(keys: str) -> SecretsBox:
    return SecretsBox(keys)


def secrets_box(settings: Settings) -> SecretsBox:
    """The box for these settings' ``secrets_key`` (built once per distinct key list)."""
    return _box(settings.secrets_key)
