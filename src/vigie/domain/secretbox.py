"""Secrets stored encrypted in the database (camera passwords and the
credentials lifted from camera URLs): AES-256-GCM under a key derived from
``VIGIE_SECRET_KEY``, which is never in the database nor in a backup.

A sealed value is ``v1:`` + base64url(12-byte nonce + ciphertext + tag); the
``context`` (what the value is, e.g. ``"camera-credentials"``) is bound as
associated data, so a value moved to another column does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigie.base.errors import FailedPrecondition
from vigie.domain.signing import derive_key

PREFIX = "v1:"
NONCE_BYTES = 12
CAMERA_SECRETS = "camera-secrets"  # the key's purpose (derive_key)


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self._aead = AESGCM(key)

    @classmethod
    def for_camera_secrets(cls, secret_key: str) -> SecretBox:
        return cls(derive_key(secret_key, CAMERA_SECRETS))

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str, *, context: str) -> str:
        """The plaintext; ``FailedPrecondition`` if the value is not sealed, or
        not with this key (another VIGIE_SECRET_KEY) and context."""
        if not is_sealed(value):
            raise FailedPrecondition(f"{context}: stored in clear; run `vigie db upgrade`.")
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise FailedPrecondition(
                f"{context}: cannot be decrypted with this VIGIE_SECRET_KEY "
                "(the key it was sealed with is needed; otherwise enter the credentials again)."
            ) from exc
        return plain.decode()
