"""Secrets a practice stores (Stripe keys, webhook secrets, bot tokens), encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`. Keys come from
`FIELD_ENCRYPTION_KEYS` (comma-separated; the first encrypts, all decrypt, so a key
can be rotated). Without it — development and tests only — a key is derived from
SECRET_KEY; production settings require the variable.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> tuple[str, ...]:
    if settings.FIELD_ENCRYPTION_KEYS:
        return tuple(settings.FIELD_ENCRYPTION_KEYS)
    digest = hashlib.sha256(f"field-encryption:{settings.SECRET_KEY}".encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def encrypt(plain: str) -> str:
    return _fernet(_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEYS no longer holds its key."
        ) from None


def mask(secret: str, *, keep: int = 4) -> str:
    """`sk_test_…a1b2`: enough to recognise a key, never enough to use it."""
    if not secret:
        return ""
    prefix = (
        secret.split("_")[0] + "_" + secret.split("_")[1] + "_" if secret.count("_") >= 2 else ""
    )
    return f"{prefix}…{secret[-keep:]}"


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python code sees the plain text."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
