"""Live tickets: short-lived, single-use, signed permissions to watch one stream.

The control plane issues a ticket after its access check; a media process
accepts a viewer only with a valid ticket. A ticket names who (account),
what (camera, stream), under whose authority (commune), until when (``exp``),
and carries a unique id (``jti``) so that it can be used once and revoked —
the media process closes any open session whose ``jti`` or account is revoked.
The access check itself lives in the control plane and is pluggable there.

One purpose per ticket (``live``, ``snapshot`` or ``playback``), signed with it:
the media process serves a ticket only on the path of its purpose, so that
what the audit log says was opened is what was opened. A playback ticket may
carry ``ranges``: the recorded periods (UTC epoch milliseconds, half-open)
outside which the media process sends no frame — the centre's limit.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Literal

from vigie.base.errors import Unauthenticated
from vigie.domain.signing import derive_key, sign, verify

StreamKind = Literal["main", "sub"]
PURPOSE = "live-ticket"
TICKET_PURPOSES = ("live", "snapshot", "playback")
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class LiveTicket:
    jti: str
    camera_id: int
    stream: StreamKind
    account_id: int
    commune: str
    iat: float  # Unix seconds (UTC) when the control plane issued it
    exp: float  # Unix seconds (UTC) after which the ticket may not open a session
    purpose: str = "live"  # one of TICKET_PURPOSES
    ranges: Ranges | None = None  # playback: the recorded periods it may play; None: all

    @property
    def stream_key(self) -> str:
        return stream_key(self.camera_id, self.stream)


def stream_key(camera_id: int, stream: StreamKind | str) -> str:
    return f"{camera_id}/{stream}"


def issue(
    secret: str,
    *,
    camera_id: int,
    stream: StreamKind,
    account_id: int,
    commune: str,
    now_s: float,
    ttl_s: float,
    purpose: str = "live",
    ranges: Ranges | None = None,
) -> tuple[LiveTicket, str]:
    if purpose not in TICKET_PURPOSES:
        raise ValueError(f"purpose: {purpose!r} is none of {TICKET_PURPOSES}")
    ticket = LiveTicket(
        jti=secrets.token_urlsafe(12),
        camera_id=camera_id,
        stream=stream,
        account_id=account_id,
        commune=commune,
        iat=now_s,
        exp=now_s + ttl_s,
        purpose=purpose,
        ranges=ranges,
    )
    return ticket, sign(asdict(ticket), derive_key(secret, PURPOSE))


def check(secret: str, token: str, *, now_s: float) -> LiveTicket:
    """Verify signature and expiry. Single use and revocation are the holder's job."""
    payload = verify(token, derive_key(secret, PURPOSE))
    try:
        ticket = LiveTicket(
            jti=str(payload["jti"]),
            camera_id=int(payload["camera_id"]),
            stream=payload["stream"],
            account_id=int(payload["account_id"]),
            commune=str(payload["commune"]),
            iat=float(payload["iat"]),
            exp=float(payload["exp"]),
            purpose=str(payload["purpose"]),
            ranges=_ranges(payload.get("ranges")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthenticated("malformed ticket") from exc
    if ticket.stream not in ("main", "sub") or ticket.purpose not in TICKET_PURPOSES:
        raise Unauthenticated("malformed ticket")
    if now_s > ticket.exp:
        raise Unauthenticated("ticket expired")
    return ticket


def _ranges(value: object) -> Ranges | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("ranges")
    out = []
    for pair in value:
        start, end = pair  # ValueError unless two items
        out.append((int(start), int(end)))
    return tuple(out)


def internal_api_token(secret: str) -> str:
    """Bearer token the control plane presents to media processes' internal API."""
    return derive_key(secret, "media-internal").hex()
