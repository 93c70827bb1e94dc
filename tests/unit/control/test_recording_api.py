from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_START, ApiClient, grant_images, make_account
from tests.unit.recording.helpers import make_camera, record
from vigie.base.settings import Settings
from vigie.recording import index
from vigie.storage.db import session_scope
from vigie.storage.models import AuditEntry

# Footage recorded ten minutes before the instant the app's clock shows.
T0 = TEST_START - timedelta(minutes=10)


def test_timeline_requisition_export(
    api: ApiClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sup = make_account(session_factory, "sup", "cmsu_supervisor")
    api.login("sup")
    root = settings.data_dir / "recordings"
    with session_scope(session_factory) as db:
        cid = make_camera(db).id
    grant_images(session_factory, sup, [cid])
    record(root, cid, T0, 4)
    with session_scope(session_factory) as db:
        index.sync(db, root, now=T0)
    q = {
        "start": (T0 - timedelta(seconds=2)).isoformat(),
        "end": (T0 + timedelta(seconds=10)).isoformat(),
    }
    r = api.get(f"/api/cameras/{cid}/recordings/timeline", params=q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["spans"]) == 1 and len(body["gaps"]) == 2
    r = api.get(
        f"/api/cameras/{cid}/recordings/timeline",
        params={"start": "2026-11-26T20:00:00", "end": "2026-11-26T21:00:00"},
    )
    assert r.status_code == 422 and "start" in r.text  # naive local time refused
    r = api.get(
        f"/api/cameras/{cid}/recordings/timeline", params={"start": q["end"], "end": q["start"]}
    )
    assert r.status_code == 422 and "inversé" in r.text
    r = api.post("/api/requisitions", json={
        "procedure_number": "2026/77", "officer": "Lt Durand", "service": "SLPJ",
        "legal_basis": "art. 60 CPP", "camera_ids": [cid], "start": T0.isoformat(),
        "end": (T0 + timedelta(seconds=4)).isoformat(), "reason": "Flagrant délit vol",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    req_id = r.json()["id"]
    r = api.post(f"/api/cameras/{cid}/exports", json={
        "start": T0.isoformat(), "end": (T0 + timedelta(seconds=2)).isoformat(),
        "recipient": "Lt Durand", "service": "SLPJ", "reason": "Réquisition 2026/77",
        "requisition_id": req_id,
    })  # fmt: skip
    assert r.status_code == 202, r.text
    job = wait_for_job(api, r.json()["job_id"])
    assert job["status"] == "done" and job["progress"] == 1.0, job
    assert job["frames"] == 50 and job["transmission_id"]
    assert api.get("/api/transmissions").json()[0]["requisition_id"] == req_id
    r = api.post(f"/api/requisitions/{req_id}/release", json={"reason": "x"})
    assert r.status_code == 422
    r = api.post(f"/api/requisitions/{req_id}/release", json={"reason": "Procédure close"})
    assert r.status_code == 200 and r.json()["status"] == "released"
    with session_scope(session_factory) as db:
        actions = [a.action for a in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-3:] == ["hold_create", "export", "hold_release"]
    # The officer takes the file and its manifest; each download is logged.
    (tr,) = api.get("/api/transmissions").json()
    assert tr["files"] == ["video.mp4", "manifest.json"]
    r = api.get(f"/api/transmissions/{tr['id']}/files/video.mp4")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert (
        r.content[4:8] == b"ftyp"
        and f"vigie-{tr['id']}-video.mp4" in r.headers["content-disposition"]
    )
    assert api.get(f"/api/transmissions/{tr['id']}/files/manifest.json").json()["manifest"]
    assert api.get(f"/api/transmissions/{tr['id']}/files/..%2Fkeys").status_code == 404
    assert api.get("/api/transmissions/999/files/video.mp4").status_code == 404
    with session_scope(session_factory) as db:
        downloads = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "export_download")
        ).all()
        assert [d.details["file"] for d in downloads] == ["video.mp4", "manifest.json"]
        # a month later the purge destroys the centre's copy: only the manifest stays
        from vigie.recording import retention

        retention.purge(db, root, T0 + timedelta(days=32), disk_free=1 << 50)
    r = api.get(f"/api/transmissions/{tr['id']}/files/video.mp4")
    assert r.status_code == 404 and "détruite" in r.text
    assert api.get("/api/transmissions").json()[0]["files"] == ["manifest.json"]
    with session_scope(session_factory) as db:
        bare = make_camera(db, name="Sans arrêté").id  # recorded, but no authorisation
    conds = api.get("/api/recording/conditions").json()
    assert [(c["kind"], c["camera_id"]) for c in conds] == [("no_authorisation", bare)]


def test_pages_are_served_in_french(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    make_account(session_factory, "sup2", "cmsu_supervisor")
    api.login("sup2")
    r = api.get("/playback")
    assert r.status_code == 200 and "Relecture des enregistrements" in r.text
    r = api.get("/requisitions")
    assert r.status_code == 200 and "Réquisitions judiciaires" in r.text
    assert api.get("/static/playback.js").status_code == 200
    assert api.get("/static/requisitions.js").status_code == 200


def test_playback_ticket_needs_a_reason(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    op = make_account(session_factory, "op", "cmsu_operator")
    api.login("op")
    with session_scope(session_factory) as db:
        cid = make_camera(db).id
    # Without rights on the camera: as if it did not exist.
    r = api.post(f"/api/cameras/{cid}/playback", json={"start": T0.isoformat(), "reason": "x" * 12})
    assert r.status_code == 404
    grant_images(session_factory, op, [cid])
    r = api.post(f"/api/cameras/{cid}/playback", json={"start": T0.isoformat(), "reason": ""})
    assert r.status_code == 422 and "motif" in r.text
    r = api.post(
        f"/api/cameras/{cid}/playback", json={"start": T0.isoformat(), "reason": "Contrôle plainte"}
    )
    assert r.status_code == 200, r.text
    assert "/playback/" in r.json()["url"] and "start_ms=" in r.json()["url"]


def wait_for_job(api: ApiClient, job_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = api.get(f"/api/exports/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(r.json())
        time.sleep(0.05)


def test_export_jobs_refusals_failures_and_owners(
    api: ApiClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sup = make_account(session_factory, "sup", "cmsu_supervisor")
    make_account(session_factory, "sup2", "cmsu_supervisor")
    root = settings.data_dir / "recordings"
    with session_scope(session_factory) as db:
        cid = make_camera(db).id
    grant_images(session_factory, sup, [cid])
    record(root, cid, T0, 2)
    with session_scope(session_factory) as db:
        index.sync(db, root, now=T0)
    api.login("sup")
    body = {"start": T0.isoformat(), "end": (T0 + timedelta(seconds=2)).isoformat(),
            "recipient": "Lt Durand", "service": "SLPJ", "reason": "Réquisition 2026/78"}  # fmt: skip
    # refused at once, before any job: reversed range, no reason
    r = api.post(
        f"/api/cameras/{cid}/exports", json=body | {"end": body["start"], "start": body["end"]}
    )
    assert r.status_code == 422 and "inversé" in r.text
    r = api.post(f"/api/cameras/{cid}/exports", json=body | {"reason": ""})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    # a range without footage: the job fails with the French reason, nothing transmitted
    later = T0 + timedelta(days=1)
    r = api.post(f"/api/cameras/{cid}/exports", json=body | {
        "start": later.isoformat(), "end": (later + timedelta(seconds=5)).isoformat()})  # fmt: skip
    assert r.status_code == 202
    job = wait_for_job(api, r.json()["job_id"])
    assert job["status"] == "failed" and "Aucun enregistrement" in job["error"]
    assert api.get("/api/transmissions").json() == []
    assert not (settings.data_dir / "exports").exists() or not any(
        (settings.data_dir / "exports").iterdir()
    )
    r = api.post(f"/api/cameras/{cid}/exports", json=body)
    job_id = r.json()["job_id"]
    assert wait_for_job(api, job_id)["status"] == "done"
    # a job cut short by a restart leaves a directory nothing refers to: removed at start-up
    exports = settings.data_dir / "exports"
    (exports / "7-20261127T010000000000Z").mkdir()
    (exports / "7-20261127T010000000000Z" / "video.mp4").write_bytes(b"partial")
    kept = [p.name for p in exports.iterdir() if p.name != "7-20261127T010000000000Z"]
    assert len(kept) == 1
    removed = api.app.state.export_jobs.remove_orphans(exports)  # type: ignore[attr-defined]
    assert removed == ["7-20261127T010000000000Z"]
    assert [p.name for p in exports.iterdir()] == kept
    # another account cannot read someone else's job
    api.cookies.clear()
    api.headers.pop("X-CSRF-Token", None)
    api.login("sup2")
    assert api.get(f"/api/exports/jobs/{job_id}").status_code == 404
