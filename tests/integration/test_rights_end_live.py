"""When a right ends, open live sessions stop within 2 s — seen from a real
WebSocket client against a real media process: a mayor revokes the
delegation, the administrator suspends an operator's agrément, a one-off
handover reaches its end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.integration.stack import ADMIN, OPERATOR, Stack, running_stack, small_camera

MAYOR_LILLE = ("maire.lille", "vigie-demo-maire")
STOP_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Cameras 1..4 land on Lille, Roubaix, Tourcoing, Villeneuve-d'Ascq (stack.py assigns
    # communes in turn).
    cams = [
        small_camera(i, name)
        for i, name in enumerate(("Lille A", "Roubaix A", "Tourcoing A", "Villeneuve A"), 1)
    ]
    with running_stack(tmp_path_factory.mktemp("rights"), cams) as s, closing(s.client()) as c:
        s.wait_for(c, lambda cs: len(cs) == 4 and all(
            x["status"]["main"]["state"] == "online" for x in cs.values()), 30, "cameras online")  # fmt: skip
        yield s


@contextmanager
def watch(op: httpx.Client, camera_id: int) -> Iterator[Any]:
    ticket = op.post(f"/api/cameras/{camera_id}/tickets", json={"stream": "main"})
    assert ticket.status_code == 200, ticket.text
    with connect(ticket.json()["url"], max_size=None) as ws:
        for _ in range(4):  # init, ftyp, first fragments: the session is live
            ws.recv(timeout=5)
        yield ws


def closed_after(ws: Any, since: float, limit_s: float = 10.0) -> float:
    """Read until the server closes the socket; seconds from ``since``."""
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=1)
    except ConnectionClosed:
        return time.monotonic() - since
    except TimeoutError:
        pass
    raise AssertionError(f"the session was still open {limit_s} s later")


def camera_id(stack: Stack, client: httpx.Client, name: str) -> int:
    return int(stack.cameras(client)[name]["id"])


def test_mayor_revokes_the_delegation(stack: Stack) -> None:
    with closing(stack.client(OPERATOR)) as op, closing(stack.client(MAYOR_LILLE)) as mayor:
        cam = camera_id(stack, op, "Lille A")
        (delegation,) = [d for d in mayor.get("/api/delegations").json() if d["revoked_at"] is None]
        with watch(op, cam) as ws:
            t0 = time.monotonic()
            r = mayor.post(
                f"/api/delegations/{delegation['id']}/revoke", json={"reason": "fin de convention"}
            )
            assert r.status_code == 200
            assert closed_after(ws, t0) <= STOP_WITHIN_S
        # And no new session: the camera is no longer the centre's to see.
        assert op.post(f"/api/cameras/{cam}/tickets", json={"stream": "main"}).status_code == 404


def test_agrement_suspended(stack: Stack) -> None:
    with closing(stack.client(OPERATOR)) as op, closing(stack.client(ADMIN)) as admin:
        cam = camera_id(stack, op, "Roubaix A")
        me = op.get("/api/auth/me").json()
        (agr,) = [a for a in admin.get("/api/agrements").json() if a["account_id"] == me["id"]]
        with watch(op, cam) as ws:
            t0 = time.monotonic()
            r = admin.patch(f"/api/agrements/{agr['id']}",
                            json={"status": "suspended", "status_reason": "enquête administrative"})  # fmt: skip
            assert r.status_code == 200
            assert closed_after(ws, t0) <= STOP_WITHIN_S
        admin.patch(f"/api/agrements/{agr['id']}", json={"status": "valid"})


def test_handover_end(stack: Stack) -> None:
    with closing(stack.client(OPERATOR)) as op, closing(stack.client(ADMIN)) as admin:
        cam = camera_id(stack, admin, "Tourcoing A")
        for d in admin.get("/api/delegations", params={"commune": "59599"}).json():
            admin.post(f"/api/delegations/{d['id']}/revoke", json={"reason": "test"})
        end = datetime.now(UTC) + timedelta(seconds=6)
        r = admin.post("/api/delegations", json={
            "commune_insee": "59599", "label": "renvoi ponctuel",
            "spans": [{"start": (end - timedelta(hours=1)).isoformat(), "end": end.isoformat()}],
        })  # fmt: skip
        assert r.status_code == 201, r.text
        with watch(op, cam) as ws:
            ends_in = (end - datetime.now(UTC)).total_seconds()
            assert ends_in > 0.5
            late = closed_after(ws, time.monotonic() + ends_in)
            assert -0.5 <= late <= STOP_WITHIN_S


def test_playback_stops_when_the_delegation_ends(stack: Stack) -> None:
    with closing(stack.client(OPERATOR)) as op, closing(stack.client(ADMIN)) as admin:
        cam = camera_id(stack, op, "Roubaix A")
        start = datetime.now(UTC) - timedelta(seconds=12)
        deadline = time.monotonic() + 20
        while True:  # the recording index catches up every few seconds
            tl = op.get(f"/api/cameras/{cam}/recordings/timeline",
                        params={"start": start.isoformat(), "end": datetime.now(UTC).isoformat()}).json()  # fmt: skip
            if tl["spans"] or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert tl["spans"], tl
        r = op.post(f"/api/cameras/{cam}/playback",
                    json={"start": tl["spans"][0]["start_utc"], "reason": "vérification d'un signalement"})  # fmt: skip
        assert r.status_code == 200, r.text
        with connect(r.json()["url"], max_size=None) as ws:
            ws.recv(timeout=5)
            ws.send('{"type": "pause"}')
            (roubaix,) = [d for d in admin.get("/api/delegations", params={"commune": "59512"}).json()
                          if d["revoked_at"] is None]  # fmt: skip
            t0 = time.monotonic()
            admin.post(f"/api/delegations/{roubaix['id']}/revoke", json={"reason": "fin"})
            assert closed_after(ws, t0) <= STOP_WITHIN_S


def test_account_disabled(stack: Stack) -> None:
    supervisor = ("superviseur", "vigie-demo-superviseur")
    with closing(stack.client(supervisor)) as sup, closing(stack.client(ADMIN)) as admin:
        cam = camera_id(stack, sup, "Villeneuve A")
        me = sup.get("/api/auth/me").json()
        with watch(sup, cam) as ws:
            t0 = time.monotonic()
            r = admin.post(f"/api/accounts/{me['id']}/disable", json={"reason": "départ"})
            assert r.status_code == 204
            assert closed_after(ws, t0) <= STOP_WITHIN_S
        assert sup.get("/api/auth/me").status_code == 401  # every session ended too


def test_stops_are_audited(stack: Stack, tmp_path: Path) -> None:
    with closing(stack.client(ADMIN)) as admin:
        r = admin.get("/api/audit", params={"start": "2020-01-01T00:00:00Z",
                                            "end": "2100-01-01T00:00:00Z", "format": "json"})  # fmt: skip
        assert r.status_code == 200
        entries = r.json()
    actions = [e["action"] for e in entries]
    assert actions.count("access_revoked") >= 3
    assert "delegation_revoked" in actions and "agrement_updated" in actions
    assert "account_disabled" in actions
    assert "live_start" in actions and "live_stop" in actions
    revoked = [e for e in entries if e["action"] == "access_revoked"]
    assert {e["details"]["reason"] for e in revoked} >= {"delegation", "agrement"}
