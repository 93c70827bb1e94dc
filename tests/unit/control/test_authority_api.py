"""Rights administration through the API: validation, scope, alerts, audit export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_START, ApiClient, make_account
from vigie.domain import roles
from vigie.storage.db import session_scope
from vigie.storage.models import AccountCommune, Camera


def setup(api: ApiClient, factory: sessionmaker[Session]) -> dict[str, int]:
    ids = {
        "admin": make_account(factory, "admin", roles.METRO_ADMIN),
        "mayor": make_account(factory, "mayor", roles.COMMUNE_AUTHORITY),
        "op": make_account(factory, "op", roles.CMSU_OPERATOR),
        "pm": make_account(factory, "pm", roles.MUNICIPAL_POLICE),
        "auditor": make_account(factory, "auditor", roles.AUDITOR),
    }
    with session_scope(factory) as s:
        s.add(AccountCommune(account_id=ids["mayor"], commune_insee="59350"))
        for name, commune in (("l1", "59350"), ("r1", "59512")):
            cam = Camera(name=name, commune_insee=commune, main_url="rtsp://192.0.2.1/a")
            s.add(cam)
            s.flush()
            ids[name] = cam.id
    return ids


def test_authorisation_rules_and_alerts(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    ids = setup(api, session_factory)
    api.login("admin")
    body = {"commune_insee": "59350", "number": "2024/VP/001", "issued_on": "2024-03-01",
            "retention_min_days": 0, "retention_max_days": 31, "camera_ids": [ids["l1"]]}  # fmt: skip
    r = api.post("/api/authorisations", json=body)
    assert r.status_code == 422
    assert (
        r.json()["error"]["field"] == "retention_max_days"
        and "L252-5" in r.json()["error"]["message"]
    )
    r = api.post(
        "/api/authorisations", json=body | {"expires_on": "2030-01-01", "retention_max_days": 14}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "expires_on"  # more than 5 years
    r = api.post(
        "/api/authorisations", json=body | {"retention_max_days": 14, "camera_ids": [ids["r1"]]}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "camera_ids"  # other commune
    r = api.post("/api/authorisations", json=body | {"retention_max_days": 14})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["expires_on"] == "2029-03-01" and a["camera_ids"] == [ids["l1"]] and a["valid_today"]
    # Expiring within 90 days → J-90 alert; the Roubaix camera has no authorisation → flagged.
    soon = (TEST_START.date() + timedelta(days=60)).isoformat()
    r = api.post("/api/authorisations", json={
        "commune_insee": "59512", "number": "2021/VP/9", "issued_on": "2022-06-01", "expires_on": soon,
        "retention_max_days": 10})  # fmt: skip
    assert r.status_code == 201, r.text
    alerts = api.get("/api/authorisations/alerts").json()
    assert [(x["number"], x["level"]) for x in alerts["authorisations"]] == [("2021/VP/9", "J-90")]
    assert [c["camera_id"] for c in alerts["cameras_without_valid_authorisation"]] == [ids["r1"]]


def test_delegations_are_the_communes_to_give(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    setup(api, session_factory)
    api.login("mayor")
    nights = [{"weekday": d, "start": "20:00", "end": "08:00"} for d in range(5)]
    r = api.post("/api/delegations", json={"commune_insee": "59512", "windows": nights})
    assert r.status_code == 404  # not the mayor's commune: not even said to exist
    r = api.post("/api/delegations", json={"commune_insee": "59350", "windows": []})
    assert r.status_code == 422 and r.json()["error"]["field"] == "windows"
    r = api.post("/api/delegations", json={"commune_insee": "59350",
                                           "windows": [{"weekday": 0, "start": "25:00", "end": "08:00"}]})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "start"
    r = api.post(
        "/api/delegations", json={"commune_insee": "59350", "windows": nights, "label": "nuits"}
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["windows_fr"][0] == "lundi 20:00–08:00 (lendemain)"
    r = api.post(f"/api/delegations/{d['id']}/revoke", json={"reason": "fin de convention"})
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    api.login("pm")
    assert api.post(f"/api/delegations/{d['id']}/revoke", json={}).status_code == 403


def test_agrement_rules(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    ids = setup(api, session_factory)
    api.login("admin")
    base = {"account_id": ids["op"], "reference": "AGR-59-2026-1", "issued_on": "2026-01-10",
            "vetted_on": "2026-01-05", "expires_on": "2031-01-10"}  # fmt: skip
    r = api.post("/api/agrements", json=base | {"account_id": ids["pm"]})
    assert r.status_code == 422 and "agrément" in r.json()["error"]["message"]
    r = api.post("/api/agrements", json=base | {"expires_on": "2025-01-01"})
    assert r.status_code == 422
    r = api.post("/api/agrements", json=base)
    assert r.status_code == 201 and r.json()["valid_now"] is True
    r = api.patch(
        f"/api/agrements/{r.json()['id']}",
        json={"status": "withdrawn", "status_reason": "retrait préfectoral"},
    )
    assert r.status_code == 200 and r.json()["valid_now"] is False


def test_audit_export_per_commune(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    ids = setup(api, session_factory)
    api.login("admin")
    api.post("/api/authorisations", json={"commune_insee": "59350", "number": "A1",
                                          "issued_on": "2024-01-01", "retention_max_days": 7,
                                          "camera_ids": [ids["l1"]]})  # fmt: skip
    api.login("mayor")
    period = {"start": "2020-01-01T00:00:00+01:00", "end": "2100-01-01T00:00:00Z"}
    assert api.get("/api/audit", params=period | {"commune": "59512"}).status_code == 404
    r = api.get("/api/audit", params=period | {"commune": "59350", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["commune_insee"] for row in rows} == {"59350"}
    assert "authorisation_created" in {row["action"] for row in rows}
    r = api.get("/api/audit", params={"start": "2026-01-01T00:00:00", "end": "2026-02-01T00:00:00Z",
                                      "commune": "59350"})  # fmt: skip
    assert r.status_code == 422 and "fuseau" in r.json()["error"]["message"]
    api.login("auditor")
    r = api.get("/api/audit", params=period)
    assert r.status_code == 200 and any(e["action"] == "sign_in" for e in r.json())
    # The auditor reads logs, never images.
    assert api.post(f"/api/cameras/{ids['l1']}/tickets", json={"stream": "main"}).status_code == 404
