from __future__ import annotations

import base64

import pytest

from vigie.base.errors import Unauthenticated
from vigie.domain import tickets

SECRET = "s" * 40


def issue(now: float = 1000.0, ttl: float = 30.0) -> tuple[tickets.LiveTicket, str]:
    return tickets.issue(
        SECRET, camera_id=7, stream="sub", account_id=3, commune="59350", now_s=now, ttl_s=ttl
    )


def test_round_trip() -> None:
    ticket, token = issue()
    assert tickets.check(SECRET, token, now_s=1010.0) == ticket
    assert ticket.stream_key == "7/sub"


def test_expired_ticket_is_refused() -> None:
    _, token = issue(ttl=30)
    with pytest.raises(Unauthenticated, match="expired"):
        tickets.check(SECRET, token, now_s=1031.0)


def test_forged_ticket_is_refused() -> None:
    _, token = issue()
    body, mac = token.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"camera_id":8}').rstrip(b"=").decode()
    for bad in (f"{forged_body}.{mac}", f"{body}.{mac[:-2]}AA", "garbage", "", f"{body}."):
        with pytest.raises(Unauthenticated):
            tickets.check(SECRET, bad, now_s=1001.0)


def test_other_secret_is_refused() -> None:
    _, token = issue()
    with pytest.raises(Unauthenticated):
        tickets.check("t" * 40, token, now_s=1001.0)


def test_each_ticket_has_a_unique_id() -> None:
    assert len({issue()[0].jti for _ in range(100)}) == 100


def test_a_ticket_carries_its_purpose() -> None:
    from vigie.domain.signing import derive_key, sign

    ticket, token = tickets.issue(
        SECRET, camera_id=7, stream="main", account_id=3, commune="59350", now_s=1000.0,
        ttl_s=30.0, purpose="playback", ranges=((1, 2), (5, 9)),
    )  # fmt: skip
    back = tickets.check(SECRET, token, now_s=1001.0)
    assert back == ticket and back.purpose == "playback" and back.ranges == ((1, 2), (5, 9))
    key = derive_key(SECRET, tickets.PURPOSE)
    body = {"jti": "j", "camera_id": 7, "stream": "main", "account_id": 3, "commune": "59350",
            "iat": 1000.0, "exp": 1030.0}  # fmt: skip
    for bad in ({}, {"purpose": "export"}, {"purpose": "live", "ranges": [[1]]}):
        with pytest.raises(Unauthenticated):
            tickets.check(SECRET, sign(body | bad, key), now_s=1001.0)
