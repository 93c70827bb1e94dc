from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.unit.recording.helpers import make_camera
from vigie.base.clock import SimulatedClock
from vigie.base.errors import InvalidArgument
from vigie.recording import retention
from vigie.recording.holds import create_requisition, release_requisition
from vigie.recording.index import utc_to_ms
from vigie.recording.models import CommuneQuota, Destruction, RecordingSegment
from vigie.storage.models import AuditEntry, Authorisation, Camera

NO_DISK_PRESSURE = 1 << 50


def authorise(db: Session, cam: Camera, min_days: int, max_days: int) -> None:
    auth = Authorisation(
        commune_insee=cam.commune_insee,
        number=f"AP-{cam.id}-{max_days}",
        issued_on=date(2025, 1, 1),
        expires_on=date(2030, 1, 1),
        retention_min_days=min_days,
        retention_max_days=max_days,
    )
    db.add(auth)
    db.flush()
    cam.authorisation_id = auth.id
    db.flush()
    db.refresh(cam)


def segment(db: Session, root: Path, cam: Camera, start: datetime, minutes: int = 5) -> None:
    rel = f"{cam.id}/{utc_to_ms(start)}.mp4"
    (root / str(cam.id)).mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b"x" * 1000)
    db.add(
        RecordingSegment(
            camera_id=cam.id, path=rel, start_utc=start,
            end_utc=start + timedelta(minutes=minutes), size_bytes=1000, frames=1,
            init_bytes=0, keyframes=b"", indexed_at=start,
        )
    )  # fmt: skip
    db.flush()


def purge(db: Session, root: Path, clock: SimulatedClock) -> retention.PurgeReport:
    return retention.purge(db, root, clock.now(), disk_free=NO_DISK_PRESSURE)


def test_purge_across_spring_dst_uses_the_earlier_deadline(
    db_session: Session, tmp_path: Path
) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 0, 3)
    # ends 2026-03-26 12:00 Paris (UTC+1); three calendar days later is
    # 2026-03-29 12:00 Paris = 10:00 UTC (UTC+2 after the change), one hour
    # before 3 × 24 h.
    segment(db_session, tmp_path, cam, datetime(2026, 3, 26, 10, 55, tzinfo=UTC))
    clock = SimulatedClock(datetime(2026, 3, 29, 9, 59, tzinfo=UTC))
    assert purge(db_session, tmp_path, clock).destroyed == 0
    clock.advance(60)
    rep = purge(db_session, tmp_path, clock)
    assert rep.destroyed == 1 and rep.destroyed_bytes == 1000
    assert not list((tmp_path / str(cam.id)).iterdir())
    (d,) = db_session.scalars(select(Destruction)).all()
    assert (d.camera_id, d.commune_insee, d.reason, d.size_bytes) == (
        cam.id,
        "59350",
        "retention",
        1000,
    )
    assert d.start_utc == datetime(2026, 3, 26, 10, 55, tzinfo=UTC)
    assert d.destroyed_at == clock.now()


def test_purge_across_autumn_dst_uses_the_earlier_deadline(
    db_session: Session, tmp_path: Path
) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 0, 2)
    # ends 2026-10-24 12:00 Paris (UTC+2) = 10:00 UTC; 2 × 24 h ends first
    # (10:00 UTC on the 26th); two calendar days end at 11:00 UTC.
    segment(db_session, tmp_path, cam, datetime(2026, 10, 24, 9, 55, tzinfo=UTC))
    clock = SimulatedClock(datetime(2026, 10, 26, 9, 59, tzinfo=UTC))
    assert purge(db_session, tmp_path, clock).destroyed == 0
    clock.advance(60)
    assert purge(db_session, tmp_path, clock).destroyed == 1


def test_hold_keeps_footage_until_released(db_session: Session, tmp_path: Path) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 0, 1)
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    segment(db_session, tmp_path, cam, start)
    segment(db_session, tmp_path, cam, start + timedelta(hours=2))
    clock = SimulatedClock(start + timedelta(minutes=10))
    req = create_requisition(
        db_session, now=clock.now(), actor="opj", actor_account_id=None,
        procedure_number="2026/00042", officer="Lt Durand", service="SLPJ Lille",
        legal_basis="art. 77-1 CPP", camera_ids=[cam.id], start=start,
        end=start + timedelta(minutes=3), reason="Enquête préliminaire vol",
        check_camera=lambda *_: None,
    )  # fmt: skip
    clock.advance(40 * 86400)
    rep = purge(db_session, tmp_path, clock)
    assert (rep.destroyed, rep.kept_for_hold) == (1, 1)
    release_requisition(
        db_session,
        req.id,
        now=clock.now(),
        actor="opj",
        actor_account_id=None,
        reason="Classement sans suite",
        in_scope=lambda _: True,
    )
    assert purge(db_session, tmp_path, clock).destroyed == 1
    actions = [a.action for a in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["hold_create", "hold_release"]
    assert len(db_session.scalars(select(Destruction)).all()) == 2


def test_quota_respects_minimum_and_reports_full(db_session: Session, tmp_path: Path) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 2, 30)
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    for days_ago in (5, 4, 1, 0.5):
        segment(db_session, tmp_path, cam, now - timedelta(days=days_ago))
    db_session.add(CommuneQuota(commune_insee="59350", quota_bytes=1500))
    db_session.flush()
    rep = retention.purge(db_session, tmp_path, now, disk_free=NO_DISK_PRESSURE)
    # the two older than the 2-day minimum go; the two younger stay though over quota
    assert rep.destroyed == 2 and rep.quota_full == ["59350"]
    assert [d.reason for d in db_session.scalars(select(Destruction))] == ["quota", "quota"]
    kinds = [c.kind for c in retention.recording_conditions(db_session)]
    assert "quota_full" in kinds


def test_disk_pressure_purges_oldest_allowed(db_session: Session, tmp_path: Path) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 1, 30)
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    for days_ago in (3, 2, 0.1):
        segment(db_session, tmp_path, cam, now - timedelta(days=days_ago))
    rep = retention.purge(db_session, tmp_path, now, disk_free=0, disk_reserve_bytes=2500)
    assert rep.destroyed == 2 and rep.disk_full  # the youngest is within its minimum
    assert len(db_session.scalars(select(RecordingSegment)).all()) == 1


def test_no_authorisation_means_legal_maximum(db_session: Session, tmp_path: Path) -> None:
    cam = make_camera(db_session)
    assert retention.retention_days(cam) == (0, 30)
    assert [c.kind for c in retention.recording_conditions(db_session)] == ["no_authorisation"]


def test_authorisation_over_30_days_is_refused(db_session: Session) -> None:
    cam = make_camera(db_session)
    authorise(db_session, cam, 0, 45)
    with pytest.raises(InvalidArgument, match="L252-5"):
        retention.retention_days(cam)


def test_requisition_needs_reason_and_procedure(db_session: Session) -> None:
    cam = make_camera(db_session)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    base = dict(
        now=t0, actor="a", actor_account_id=None, officer="o", service="s", legal_basis="b",
        camera_ids=[cam.id], start=t0, end=t0 + timedelta(hours=1), check_camera=lambda *_: None,
    )  # fmt: skip
    with pytest.raises(InvalidArgument):
        create_requisition(db_session, procedure_number="", reason="motif ok", **base)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        create_requisition(db_session, procedure_number="P1", reason="", **base)  # type: ignore[arg-type]


def test_an_export_copy_is_destroyed_when_its_transmission_expires(
    db_session: Session, tmp_path: Path
) -> None:
    from vigie.recording.manifest import MANIFEST_NAME
    from vigie.recording.models import Transmission

    cam = make_camera(db_session)
    clock = SimulatedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    out = tmp_path / "exports" / "1"
    out.mkdir(parents=True)
    (out / "video.mp4").write_bytes(b"v" * 5000)
    (out / MANIFEST_NAME).write_text("{}")
    db_session.add(
        Transmission(
            camera_id=cam.id, recipient="OPJ Martin", service="Commissariat de Lille",
            start_utc=clock.now() - timedelta(hours=1), end_utc=clock.now(),
            transmitted_at=clock.now(), expires_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            operator="superviseur", manifest_sha256="0" * 64, export_dir=str(out),
        )
    )  # fmt: skip
    db_session.flush()
    clock.advance(timedelta(days=30, hours=23).total_seconds())
    assert purge(db_session, tmp_path / "rec", clock).exports_destroyed == 0
    assert (out / "video.mp4").exists()
    clock.advance(3600)
    report = purge(db_session, tmp_path / "rec", clock)
    assert report.exports_destroyed == 1 and report.destroyed_bytes == 5000
    assert not (out / "video.mp4").exists() and (out / MANIFEST_NAME).exists()
    row = db_session.scalars(
        select(Destruction).where(Destruction.reason == "transmission_expired")
    ).one()
    assert (row.camera_id, row.size_bytes) == (cam.id, 5000)
    assert purge(db_session, tmp_path / "rec", clock).exports_destroyed == 0  # once
