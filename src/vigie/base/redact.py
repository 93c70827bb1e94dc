"""Keep camera credentials out of logs, errors and API answers."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def redact_url(url: str) -> str:
    """Replace any user:password in a URL by ``***``."""
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", url)


def redact_text(text: str) -> str:
    """Redact every URL with credentials found inside free text."""
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Return (url without credentials, username, password)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def join_credentials(url: str, username: str | None, password: str | None) -> str:
    """Put credentials back into a URL (only ever handed to the media plane)."""
    if not username:
        return url
    parts = urlsplit(url)
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(
        SplitResult(
            parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, parts.fragment
        )
    )
