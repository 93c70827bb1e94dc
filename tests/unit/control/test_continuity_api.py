from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.continuity import alarms
from vigie.domain.alarms import Condition, Transition
from vigie.storage.db import session_scope
from vigie.storage.models import AccountCommune, Camera


def seed_alarm(factory: sessionmaker[Session], commune: str = "59350") -> int:
    with session_scope(factory) as db:
        cam = Camera(name="Beffroi", commune_insee=commune, main_url="rtsp://127.0.0.1/a")
        db.add(cam)
        db.flush()
        cond = Condition("camera", str(cam.id), "offline", "critical", "Caméra hors ligne")
        (alarm,) = alarms.apply(
            db,
            now=datetime(2026, 11, 26, 20, 0, tzinfo=UTC),
            transitions=[Transition("raise", cond, 0)],
        )
        return alarm.id


def test_operator_queue_over_the_api(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    alarm_id = seed_alarm(session_factory)
    make_account(session_factory, "op", "cmsu_operator")
    api.login("op")
    rows = api.get("/api/continuity/alarms").json()
    assert [r["id"] for r in rows] == [alarm_id]
    assert rows[0]["link"].startswith("/playback?camera=")
    r = api.post(f"/api/continuity/alarms/{alarm_id}/ack")
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "op"
    r = api.post(f"/api/continuity/alarms/{alarm_id}/assign", json={"assignee": "tech"})
    assert r.json()["assigned_to"] == "tech"
    r = api.post(f"/api/continuity/alarms/{alarm_id}/comment", json={"text": "  "})
    assert r.status_code == 422 and "commentaire" in r.text.lower()
    page = api.get("/alarmes")
    assert page.status_code == 200 and "Caméra hors ligne" in page.text
    assert api.post("/api/continuity/alarms/999/ack").status_code == 404


def test_commune_operator_sees_only_its_communes(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    other = seed_alarm(session_factory, commune="59512")
    account = make_account(session_factory, "lille", "commune_operator")
    with session_scope(session_factory) as db:
        db.add(AccountCommune(account_id=account, commune_insee="59350"))
    api.login("lille")
    assert api.get("/api/continuity/alarms").json() == []
    assert api.post(f"/api/continuity/alarms/{other}/ack").status_code == 404


def test_coverage_plan_and_metrics(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    seed_alarm(session_factory)
    make_account(session_factory, "admin", "metro_admin")
    api.login("admin")
    r = api.put(
        "/api/continuity/coverage/59350/staffed",
        json=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(5)],
    )
    assert r.status_code == 200, r.text
    bad = api.put(
        "/api/continuity/coverage/59350/staffed",
        json=[{"weekday": 1, "start": "25:00", "end": "08:00"}],
    )
    assert bad.status_code == 422 and "heure" in bad.text
    cov = api.get("/api/continuity/coverage/59350", params={"week": "2026-03-25"}).json()
    assert len(cov["slots"]) == 334  # the week clocks go forward
    assert cov["uncovered_hours"] == 168 - 60 - 1
    page = api.get("/couverture", params={"commune": "59350", "week": "2026-03-25"})
    assert page.status_code == 200 and "Heures non couvertes (107.0 h)" in page.text
    assert "lundi 08:00" in page.text
    view = api.get("/api/continuity/coverage").json()
    assert view[0]["commune"] == "59350"
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert 'vigie_alarms_open{severity="critical"} 1.0' in metrics.text
    assert "vigie_camera_up{" in metrics.text


def test_contacts_check_settings_reference_and_health(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    seed_alarm(session_factory)
    make_account(session_factory, "admin", "metro_admin")
    api.login("admin")
    r = api.post("/api/continuity/contacts", json={"commune_insee": "59350", "label": "Tech"})
    assert r.status_code == 422 and "e-mail" in r.text
    r = api.post(
        "/api/continuity/contacts",
        json={"commune_insee": "59350", "webhook_url": "https://hooks.example/x"},
    )
    assert r.status_code == 422 and "secret" in r.text
    r = api.post(
        "/api/continuity/contacts",
        json={"commune_insee": None, "email": "cmsu@mel.example", "min_severity": "critical"},
    )
    assert r.status_code == 201, r.text
    listed = api.get("/api/continuity/contacts").json()
    assert [c["email"] for c in listed] == ["cmsu@mel.example"]
    bad = api.put("/api/continuity/cameras/1/checks", json={"thresholds": {"blurr": 0.3}})
    assert bad.status_code == 422 and "blurr" in bad.text
    ok = api.put(
        "/api/continuity/cameras/1/checks",
        json={"close_up": True, "thresholds": {"moved_corr": 0.5}},
    )
    assert ok.status_code == 200, ok.text
    assert api.delete(f"/api/continuity/contacts/{listed[0]['id']}").status_code == 204
    make_account(session_factory, "op", "cmsu_operator")
    api.login("op")
    assert api.post("/api/continuity/cameras/1/reference").status_code == 202
    health = api.get("/api/continuity/health").json()
    assert health["cameras"][0]["camera_id"] == 1 and "media-0" in health["processes"]
