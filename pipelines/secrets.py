"""Secrets that must be read back (webhook signing secrets), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key derived by HKDF-SHA256 from
`SIXDEG_SECRET_KEY`: a database dump alone does not reveal the secrets, and rotating `SIXDEG_SECRET_KEY` makes
the stored ones unreadable (rotate the webhook secrets then).
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WEBHOOK_SECRET_PREFIX = "whsec_"


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted with the configured key (SIXDEG_SECRET_KEY changed?)."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sixdeg stored secrets v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


@lru_cache(maxsize=4096)
def decrypt(secret_key: str, token: str) -> str:
    """The plaintext of `token` (cached: every webhook request verifies with its source's secret)."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with SIXDEG_SECRET_KEY; was the key changed? rotate the secret"
        ) from exc


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
