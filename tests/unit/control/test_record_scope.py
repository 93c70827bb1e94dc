"""Requisitions (legal holds) and transmissions scoped by the cameras' communes,
and the centre's recorded images judged by the period recorded (issue 13,
findings 1, 4, 8 and 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient
from tests.unit.control.two_communes import (
    DAY,
    INSIDE,
    LILLE,
    NIGHT,
    OUTSIDE,
    REQ,
    ROUBAIX,
    Clients,
    World,
    paris,
)
from vigie.base.clock import SimulatedClock
from vigie.storage.db import session_scope
from vigie.storage.models import AuditEntry


def hold(cams: list[int], footage: tuple[datetime, datetime] = NIGHT) -> dict[str, Any]:
    return {"procedure_number": "2026/99", "officer": "Lt Martin", "service": "SLPJ",
            "legal_basis": "art. 60 CPP", "camera_ids": cams, "start": footage[0].isoformat(),
            "end": footage[1].isoformat(), "reason": "Flagrant délit"}  # fmt: skip


def ids(rows: list[dict[str, Any]]) -> set[int]:
    return {int(x["id"]) for x in rows}


def test_a_foreign_mayor_cannot_put_lift_or_list_holds(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    clock.set(OUTSIDE)
    roubaix = clients["mayor_roubaix"]
    # Create on a Lille camera: the same answer as a camera that does not exist.
    foreign = roubaix.post("/api/requisitions", json=hold([world.cams["lille"]]))
    unknown = roubaix.post("/api/requisitions", json=hold([999_999]))
    mixed = roubaix.post(
        "/api/requisitions", json=hold([world.cams["roubaix"], world.cams["lille"]])
    )
    assert foreign.status_code == unknown.status_code == mixed.status_code == 404
    assert foreign.json() == unknown.json() == mixed.json()
    # Release Lille's hold: the same answer as a requisition that does not exist.
    lille_id = world.reqs["lille"]
    r = roubaix.post(f"/api/requisitions/{lille_id}/release", json={"reason": "Procédure close"})
    gone = roubaix.post("/api/requisitions/999999/release", json={"reason": "Procédure close"})
    assert r.status_code == gone.status_code == 404
    assert r.json()["error"]["message"].replace(str(lille_id), "N") == gone.json()["error"][
        "message"
    ].replace("999999", "N")
    # A hold touching both communes is not the mayor of Roubaix's to lift either.
    r = roubaix.post(
        f"/api/requisitions/{world.reqs['mixed']}/release", json={"reason": "Procédure close"}
    )
    assert r.status_code == 404
    # The list shows Roubaix's holds only, and of a shared one only Roubaix's camera.
    rows = {x["id"]: x for x in roubaix.get("/api/requisitions").json()}
    assert world.reqs["lille"] not in rows and world.reqs["lille_released"] not in rows
    assert rows[world.reqs["roubaix"]]["camera_ids"] == [world.cams["roubaix"]]
    assert rows[world.reqs["mixed"]]["camera_ids"] == [world.cams["roubaix"]]
    assert rows[world.reqs["mixed"]]["other_communes"] is True
    assert rows[world.reqs["roubaix"]]["other_communes"] is False
    # Lille's hold is still active: nothing was lifted.
    lille = {x["id"]: x for x in clients["mayor_lille"].get("/api/requisitions").json()}
    assert lille[lille_id]["status"] == "active"


def test_holds_are_audited_under_each_commune_concerned(
    world: World,
    clients: Clients,
    clock: SimulatedClock,
    session_factory: sessionmaker[Session],
) -> None:
    clock.set(OUTSIDE)
    # The supervisor holds Lille's and Roubaix's footage of a delegated period at once.
    sup = clients["sup"]
    r = sup.post("/api/requisitions", json=hold([world.cams["lille"], world.cams["roubaix"]]))
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = sup.post(f"/api/requisitions/{rid}/release", json={"reason": "Procédure close"})
    assert r.status_code == 200, r.text
    with session_scope(session_factory) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.target == f"requisition:{rid}")
        ).all()
        got = sorted((e.action, e.commune_insee, tuple(e.details["cameras"])) for e in entries)
    assert got == [
        ("hold_create", LILLE, (world.cams["lille"],)),
        ("hold_create", ROUBAIX, (world.cams["roubaix"],)),
        ("hold_release", LILLE, (world.cams["lille"],)),
        ("hold_release", ROUBAIX, (world.cams["roubaix"],)),
    ]
    # Lille's audit export shows both, for the mayor of Lille.
    q = {"commune": LILLE, "start": DAY[0].isoformat(), "end": paris(2026, 12, 1).isoformat()}
    r = clients["mayor_lille"].get("/api/audit", params=q)
    assert r.status_code == 200, r.text
    mine = [(e["action"], e["target"]) for e in r.json()]
    assert ("hold_create", f"requisition:{rid}") in mine
    assert ("hold_release", f"requisition:{rid}") in mine


def test_the_supervisor_holds_only_what_the_centre_was_handed(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    clock.set(OUTSIDE)
    sup = clients["sup"]
    # Lille's daytime was never delegated: the centre may not put it on hold.
    r = sup.post("/api/requisitions", json=hold([world.cams["lille"]], DAY))
    assert r.status_code == 403 and r.json()["error"]["field"] == "start"
    # Lille's night (delegated) is the centre's to hold, window open or not.
    r = sup.post("/api/requisitions", json=hold([world.cams["lille"]], NIGHT))
    assert r.status_code == 201, r.text
    # The requisition officer of Lille may hold any of Lille's footage, not Roubaix's.
    req = clients["req_lille"]
    assert req.post("/api/requisitions", json=hold([world.cams["lille"]], DAY)).status_code == 201
    assert req.post("/api/requisitions", json=hold([world.cams["roubaix"]], DAY)).status_code == 404


def test_an_export_names_only_a_requisition_in_scope(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    clock.set(INSIDE)
    body = {"start": NIGHT[0].isoformat(), "end": NIGHT[1].isoformat(), "recipient": "Lt Durand",
            "service": "SLPJ", "reason": "Réquisition P-roubaix"}  # fmt: skip
    mayor = clients["mayor_lille"]
    r = mayor.post(
        f"/api/cameras/{world.cams['lille']}/exports",
        json=body | {"requisition_id": world.reqs["roubaix"]},
    )
    assert r.status_code == 404  # Roubaix's procedure cannot be attached to Lille's export
    r = mayor.post(
        f"/api/cameras/{world.cams['lille_quiet']}/exports",
        json=body | {"requisition_id": world.reqs["lille"]},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "requisition_id"


def test_transmissions_are_scoped_like_cameras(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    trs = world.trs
    lille_all = {trs["lille_day"], trs["lille_night"], trs["lille_req"]}
    for at in (INSIDE, OUTSIDE):
        clock.set(at)
        assert ids(clients["mayor_roubaix"].get("/api/transmissions").json()) == {
            trs["roubaix_day"]
        }
        assert ids(clients["mayor_lille"].get("/api/transmissions").json()) == lille_all
        assert ids(clients["req_lille"].get("/api/transmissions").json()) == lille_all
        r = clients["mayor_roubaix"].get(
            f"/api/transmissions/{trs['lille_night']}/files/manifest.json"
        )
        gone = clients["mayor_roubaix"].get("/api/transmissions/999999/files/manifest.json")
        assert r.status_code == gone.status_code == 404
        r = clients["mayor_lille"].get(f"/api/transmissions/{trs['lille_day']}/files/manifest.json")
        assert r.status_code == 200
    # The centre sees Lille's exports of delegated periods while the window is open,
    # and those a requisition names; never Lille's daytime.
    clock.set(INSIDE)
    sup = clients["sup"]
    assert ids(sup.get("/api/transmissions").json()) == {
        trs["lille_night"], trs["lille_req"], trs["roubaix_day"]
    }  # fmt: skip
    clock.set(OUTSIDE)
    assert ids(sup.get("/api/transmissions").json()) == {trs["lille_req"], trs["roubaix_day"]}
    r = sup.get(f"/api/transmissions/{trs['lille_night']}/files/manifest.json")
    assert r.status_code == 404
    r = sup.get(f"/api/transmissions/{trs['lille_req']}/files/manifest.json")
    assert r.status_code == 200


def export(client: ApiClient, cam: int, footage: tuple[datetime, datetime]) -> int:
    body = {"start": footage[0].isoformat(), "end": footage[1].isoformat(),
            "recipient": "Lt Durand", "service": "SLPJ", "reason": "Réquisition en cours"}  # fmt: skip
    return client.post(f"/api/cameras/{cam}/exports", json=body).status_code


def playback(client: ApiClient, cam: int, footage: tuple[datetime, datetime]) -> int:
    body = {"start": footage[0].isoformat(), "reason": "Contrôle d'un signalement"}
    return client.post(f"/api/cameras/{cam}/playback", json=body).status_code


def test_the_centre_sees_recorded_images_of_delegated_periods_only(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    sup, mayor = clients["sup"], clients["mayor_lille"]
    quiet, lille = world.cams["lille_quiet"], world.cams["lille"]
    clock.set(INSIDE)
    # Inside Lille's night window: its nights, not its days.
    assert playback(sup, quiet, NIGHT) == 200
    assert export(sup, quiet, NIGHT) == 202
    assert playback(sup, quiet, DAY) == 403
    assert export(sup, quiet, DAY) == 403
    assert export(sup, quiet, (paris(2026, 11, 24, 19, 50), NIGHT[0])) == 403  # straddles 20:00
    # Footage an active requisition names: whatever the period, window or not.
    assert export(sup, lille, REQ) == 202
    clock.set(OUTSIDE)
    assert export(sup, lille, REQ) == 202
    assert playback(sup, lille, REQ) == 200
    assert export(sup, lille, NIGHT) == 403  # delegated, but no window is open now
    assert playback(sup, quiet, NIGHT) == 404  # no window, no requisition: not the centre's
    # The commune's own people keep their access to every period.
    for footage in (DAY, NIGHT, REQ):
        assert playback(mayor, quiet, footage) == 200
        assert export(mayor, quiet, footage) == 202


def test_the_centre_timeline_shows_only_what_it_may_replay(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    clock.set(INSIDE)
    q = {"start": DAY[0].isoformat(), "end": NIGHT[1].isoformat()}
    url = f"/api/cameras/{world.cams['lille_quiet']}/recordings/timeline"
    sup = clients["sup"].get(url, params=q).json()
    # Nothing is recorded: the centre is shown the gap of its delegated period only
    # (20:00 to the end of the range), the mayor the whole range.
    assert [(g["start_utc"], g["end_utc"]) for g in sup["gaps"]] == [
        (paris(2026, 11, 24, 20, 0).isoformat().replace("+00:00", "Z"),
         NIGHT[1].isoformat().replace("+00:00", "Z"))
    ]  # fmt: skip
    mayor = clients["mayor_lille"].get(url, params=q).json()
    assert len(mayor["gaps"]) == 1 and mayor["gaps"][0]["start_utc"].startswith("2026-11-24T11")


def test_national_police_may_not_take_a_snapshot(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    clock.set(INSIDE)
    pn = clients["pn_lille"]
    url = f"/api/cameras/{world.cams['lille']}/tickets"
    assert pn.post(url, json={"stream": "main", "purpose": "live"}).status_code == 200
    assert pn.post(url, json={"stream": "main", "purpose": "snapshot"}).status_code == 404
