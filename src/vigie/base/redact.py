"""Keep camera credentials out of logs, errors, the audit log and API answers.

A camera URL may carry credentials in two places: the userinfo
(``rtsp://user:pass@host/…``, where the password may itself hold ``@``: the
host starts after the *last* ``@``) and the query string
(``…?user=admin&password=…``; parameter names in ``CREDENTIAL_PARAMS``,
any case). ``strip_credentials`` lifts both out of a URL before it is stored;
``join_credentials`` puts them back for the media plane only; ``redact_url``
and ``redact_text`` mask them wherever a URL is shown or logged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, unquote_plus, urlsplit, urlunsplit

REDACTED = "***"

# Query parameters that carry a secret (compared lower-case, percent-decoded).
CREDENTIAL_PARAMS = frozenset(
    {
        "user", "username", "usr", "login", "uid",
        "password", "pass", "passwd", "pwd", "passphrase", "secret",
        "token", "access_token", "auth", "authorization", "key", "apikey", "api_key",
    }
)  # fmt: skip

_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


@dataclass(frozen=True, slots=True)
class UrlCredentials:
    """What ``strip_credentials`` lifted out of a URL."""

    username: str | None = None
    password: str | None = None
    query: tuple[str, ...] = ()  # the credential parameters, verbatim ("password=x%40y")

    def __bool__(self) -> bool:
        return self.username is not None or self.password is not None or bool(self.query)


def is_credential_param(segment: str) -> bool:
    """Whether one ``name=value`` piece of a query string carries a secret."""
    name = unquote_plus(segment.split("=", 1)[0]).strip().lower()
    return name in CREDENTIAL_PARAMS


def strip_credentials(url: str) -> tuple[str, UrlCredentials]:
    """Return (the URL without userinfo nor credential parameters, what was lifted).

    Raise ``ValueError`` for a URL the parser refuses."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if colon else None
    kept: list[str] = []
    lifted: list[str] = []
    for segment in parts.query.split("&") if parts.query else []:
        (lifted if is_credential_param(segment) else kept).append(segment)
    clean = urlunsplit(
        SplitResult(parts.scheme, hostport, parts.path, "&".join(kept), parts.fragment)
    )
    return clean, UrlCredentials(username, password, tuple(lifted))


def join_credentials(
    url: str, username: str | None, password: str | None, query: Sequence[str] = ()
) -> str:
    """Put credentials back into a URL (only ever handed to the media plane):
    the userinfo, and the lifted query parameters after the URL's own."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if username:
        userinfo = quote(username, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        netloc = f"{userinfo}@{netloc}"
    params = [p for p in parts.query.split("&") if p] + list(query)
    return urlunsplit(
        SplitResult(parts.scheme, netloc, parts.path, "&".join(params), parts.fragment)
    )


def redact_url(url: str) -> str:
    """Mask the userinfo (``***@``) and the value of every credential parameter.

    Never fails, whatever the text: everything up to the last ``@`` before the
    query is taken as userinfo (a password with an unencoded ``/`` included)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for mark in ("?", "#"):
        i = rest.find(mark)
        if i != -1:
            end = min(end, i)
    at = rest.rfind("@", 0, end)
    if at != -1:
        rest = REDACTED + rest[at:]
        end -= at - len(REDACTED)
    head, query_and_fragment = rest[:end], rest[end:]
    if query_and_fragment.startswith("?"):
        query, hash_, fragment = query_and_fragment[1:].partition("#")
        masked = [
            f"{s.split('=', 1)[0]}={REDACTED}" if is_credential_param(s) else s
            for s in query.split("&")
        ]
        query_and_fragment = "?" + "&".join(masked) + hash_ + fragment
    return f"{scheme}://{head}{query_and_fragment}"


def redact_text(text: str) -> str:
    """Redact every URL found inside free text (log lines, error messages)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
