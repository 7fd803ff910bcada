"""The secrets box: sealed values round-trip, legacy plain values pass through, keys rotate,
and neither errors nor repr reveal a secret or a key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.secrets_box import (
    MARKER,
    SecretsBox,
    SecretsKeyError,
    SecretUnreadable,
    is_sealed,
    secrets_box,
)
from shared.settings import DEV_SECRETS_KEY, Settings

SECRET = "whsec_c2VjcmV0LXZhbHVlLW5vYm9keS1zaG91bGQtc2Vl"


def test_sealed_values_round_trip_and_hide_the_secret() -> None:
    box = SecretsBox(Fernet.generate_key().decode())
    sealed = box.seal(SECRET)
    assert sealed.startswith(MARKER)
    assert is_sealed(sealed)
    assert SECRET not in sealed
    assert SECRET.removeprefix("whsec_") not in sealed
    assert box.seal(SECRET) != sealed  # a fresh IV every time
    assert box.open(sealed) == SECRET
    assert box.open_optional(None) is None
    assert box.open_optional(sealed) == SECRET


def test_unmarked_values_are_legacy_plain_text() -> None:
    box = SecretsBox(Fernet.generate_key().decode())
    assert box.open(SECRET) == SECRET
    assert box.open("SEC0123456789abcdef") == "SEC0123456789abcdef"
    sealed = box.seal(SECRET)
    assert is_sealed(sealed)
    assert box.open(sealed) == SECRET


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    under_old = SecretsBox(old).seal(SECRET)
    rotated = SecretsBox(f" {new} , {old} ")
    assert rotated.open(under_old) == SECRET
    under_new = rotated.seal(SECRET)
    assert SecretsBox(new).open(under_new) == SECRET
    with pytest.raises(SecretUnreadable):
        SecretsBox(old).open(under_new)
    # Writing the secret again moves it to the first key, after which the old key can go.
    assert SecretsBox(new).open(rotated.seal(rotated.open(under_old))) == SECRET


def test_failures_name_neither_secret_nor_key() -> None:
    key = Fernet.generate_key().decode()
    box = SecretsBox(key)
    other = SecretsBox(Fernet.generate_key().decode())
    sealed = other.seal(SECRET)
    with pytest.raises(SecretUnreadable) as unreadable:
        box.open(sealed)
    assert SECRET not in str(unreadable.value)
    assert sealed not in str(unreadable.value)
    with pytest.raises(SecretUnreadable):
        box.open(MARKER + "not-a-token")
    assert key not in repr(box)

    bad_key = "not-a-fernet-key-but-secret-material"
    with pytest.raises(SecretsKeyError) as refused:
        SecretsBox(f"{key},{bad_key}")
    assert "key 2" in str(refused.value)
    assert bad_key not in str(refused.value)
    assert refused.value.__cause__ is None
    with pytest.raises(SecretsKeyError):
        SecretsBox(" , ")


def test_settings_default_is_the_dev_key_and_boxes_are_shared() -> None:
    settings = Settings()
    if settings.secrets_key == DEV_SECRETS_KEY:
        assert SecretsBox(DEV_SECRETS_KEY).open(secrets_box(settings).seal("x")) == "x"
    assert secrets_box(settings) is secrets_box(settings.model_copy())
