"""Compact signed tokens: base64url(JSON) + "." + base64url(HMAC-SHA256).

Used for session cookies and live tickets. Keys are derived per purpose from
the one secret so that a token of one kind is never accepted as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from vigie.base.errors import Unauthenticated


def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"vigie:{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: dict[str, Any], key: bytes) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: str, key: bytes) -> dict[str, Any]:
    """Return the payload if the signature is right; raise ``Unauthenticated`` otherwise."""
    try:
        body, mac_text = token.split(".", 1)
        mac = _unb64(mac_text)
    except (ValueError, TypeError) as exc:
        raise Unauthenticated("malformed token") from exc
    expected = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise Unauthenticated("bad token signature")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthenticated("malformed token") from exc
    if not isinstance(payload, dict):
        raise Unauthenticated("malformed token")
    return payload
