"""Security headers on every answer of the control plane.

- ``Content-Security-Policy``: scripts and styles only from this origin (no
  inline code, no ``eval``); media processes' origins for what pages reach
  there directly (live and playback WebSockets, snapshots); ``blob:`` for the
  MSE players; no plugin, no ``<base>``, forms only to this origin, never
  framed (``frame-ancestors 'none'``).
- ``X-Frame-Options: DENY`` (browsers without CSP 2), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy``.
- ``Strict-Transport-Security`` when the request came over TLS: its scheme is
  https, which uvicorn also sets from ``X-Forwarded-Proto`` for a reverse proxy
  it trusts (``FORWARDED_ALLOW_IPS``, default 127.0.0.1) — never from the
  header of any client.

A route may set its own ``Content-Security-Policy`` (e.g. a report with its
style sheet inline, allowed by hash: ``style_hashes``); it is then kept.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigie.control.media_directory import MediaDirectory

CSP = "Content-Security-Policy"
HSTS_MAX_AGE_S = 365 * 24 * 3600
FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# A Host header that may be written into the policy as it is (no ";", space, quote…).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def content_security_policy(
    media_origins: Iterable[str] = (), style_hashes: Iterable[str] = ()
) -> str:
    media = "".join(f" {o}" for o in media_origins)
    styles = "".join(f" '{h}'" for h in style_hashes)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self'{styles}",
            f"img-src 'self' data: blob:{media}",  # snapshots come from media processes
            f"media-src 'self' blob:{media}",  # MSE players
            f"connect-src 'self'{media}",  # live and playback WebSockets
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def style_hashes(html: str) -> list[str]:
    """The CSP hashes of the ``<style>`` blocks of a self-contained document."""
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        for body in _STYLE.findall(html)
    ]


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer."""

    def __init__(self, app: ASGIApp, media: MediaDirectory) -> None:
        self.app = app
        self.media = media

    def policy(self, scope: Scope) -> str:
        host = Headers(scope=scope).get("host", "")
        if not _HOST.fullmatch(host):
            return content_security_policy()  # media tiles need a host to name
        secure = scope.get("scheme") == "https"
        return content_security_policy(self.media.public_origins(host, secure))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if CSP not in headers:
                    headers[CSP] = self.policy(scope)
                for name, value in FIXED.items():
                    headers[name] = value
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}"
            await send(message)

        await self.app(scope, receive, send_with_headers)
