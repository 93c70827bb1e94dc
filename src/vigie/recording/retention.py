"""Retention under CSI L252-5: automatic purge, quotas, disk space, the register.

Rules (see docs/design/recording.md):
- a camera's bounds come from its prefectoral authorisation
  (``domain.retention.validate_retention``); a camera without one is kept at
  most the legal maximum (30 days) and reported as a condition;
- "N days" is read both as N × 24 h and as N calendar days in Europe/Paris;
  the purge uses whichever ends first (so a DST change never keeps footage
  past either reading) and the minimum protects whichever ends last;
- footage under an active requisition (legal hold) is never destroyed;
- every destruction writes one ``Destruction`` row, which the purge never touches;
- the centre's copy of an export goes when its transmission expires (one month,
  L252-3): its video files are destroyed (register reason ``transmission_expired``),
  its signed manifest stays as the record of what was handed over.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.base.i18n import t
from vigie.domain.retention import MAX_RETENTION_DAYS, validate_retention
from vigie.recording.manifest import MANIFEST_NAME
from vigie.recording.models import (
    CommuneQuota,
    Destruction,
    RecordingSegment,
    Requisition,
    Transmission,
)
from vigie.storage.models import Camera

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_DISK_RESERVE_BYTES = 1 << 30


def retention_days(camera: Camera) -> tuple[int, int]:
    """(min, max) days for ``camera``; legal maximum without an authorisation."""
    auth = camera.authorisation
    if auth is None:
        return 0, MAX_RETENTION_DAYS
    validate_retention(auth.retention_min_days, auth.retention_max_days)
    return auth.retention_min_days, auth.retention_max_days


def _days_back(now: datetime, days: int) -> tuple[datetime, datetime]:
    """(earlier, later) of now − days×24 h and now − days calendar days in Paris."""
    flat = now - timedelta(days=days)
    local = (now.astimezone(PARIS) - timedelta(days=days)).replace(tzinfo=None)
    calendar = local.replace(tzinfo=PARIS).astimezone(flat.tzinfo)
    return min(flat, calendar), max(flat, calendar)


def purge_cutoff(now: datetime, max_days: int) -> datetime:
    """Footage ending at or before this instant has reached its maximum."""
    return _days_back(now, max_days)[1]


def min_cutoff(now: datetime, min_days: int) -> datetime:
    """Footage ending after this instant is still inside its minimum retention."""
    return _days_back(now, min_days)[0]


def _held(holds: list[Requisition], seg: RecordingSegment) -> bool:
    return any(
        seg.camera_id in h.camera_ids and seg.start_utc < h.end_utc and seg.end_utc > h.start_utc
        for h in holds
    )


def active_holds(db: Session) -> list[Requisition]:
    return list(db.scalars(select(Requisition).where(Requisition.status == "active")))


@dataclass
class PurgeReport:
    destroyed: int = 0
    destroyed_bytes: int = 0
    kept_for_hold: int = 0
    quota_full: list[str] = field(default_factory=list)
    disk_full: bool = False
    exports_destroyed: int = 0


def _destroy(
    db: Session, root: Path, seg: RecordingSegment, commune: str, reason: str, now: datetime
) -> int:
    path = root / seg.path
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        size = seg.size_bytes
    db.add(
        Destruction(
            camera_id=seg.camera_id,
            commune_insee=commune,
            start_utc=seg.start_utc,
            end_utc=seg.end_utc,
            size_bytes=size,
            reason=reason,
            destroyed_at=now,
            path=seg.path,
        )
    )
    db.delete(seg)
    return size


def purge(
    db: Session,
    root: Path,
    now: datetime,
    *,
    disk_reserve_bytes: int = DEFAULT_DISK_RESERVE_BYTES,
    disk_free: int | None = None,
) -> PurgeReport:
    """One purge pass: expired exports, retention, then quotas, then free disk space."""
    report = PurgeReport()
    purge_expired_exports(db, now, report)
    holds = active_holds(db)
    cameras = {c.id: c for c in db.scalars(select(Camera))}
    bounds = {cid: retention_days(c) for cid, c in cameras.items()}
    # 1. retention maximum
    for cid, cam in cameras.items():
        cutoff = purge_cutoff(now, bounds[cid][1])
        for seg in db.scalars(
            select(RecordingSegment).where(
                RecordingSegment.camera_id == cid, RecordingSegment.end_utc <= cutoff
            )
        ):
            if _held(holds, seg):
                report.kept_for_hold += 1
                continue
            report.destroyed_bytes += _destroy(db, root, seg, cam.commune_insee, "retention", now)
            report.destroyed += 1
    db.flush()

    def purgeable(cids: list[int]) -> list[RecordingSegment]:
        """Oldest first, only what the minimum retention and holds allow."""
        out = []
        for seg in db.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.camera_id.in_(cids))
            .order_by(RecordingSegment.start_utc)
        ):
            if seg.end_utc > min_cutoff(now, bounds[seg.camera_id][0]) or _held(holds, seg):
                continue
            out.append(seg)
        return out

    # 2. per-commune quotas
    for quota in db.scalars(select(CommuneQuota)):
        cids = [cid for cid, c in cameras.items() if c.commune_insee == quota.commune_insee]
        used = commune_usage_bytes(db, cids)
        if used <= quota.quota_bytes:
            continue
        for seg in purgeable(cids):
            if used <= quota.quota_bytes:
                break
            freed = _destroy(db, root, seg, cameras[seg.camera_id].commune_insee, "quota", now)
            used -= freed
            report.destroyed += 1
            report.destroyed_bytes += freed
        if used > quota.quota_bytes:
            report.quota_full.append(quota.commune_insee)
    db.flush()
    # 3. disk space
    free = disk_free if disk_free is not None else _disk_free(root)
    if free < disk_reserve_bytes:
        for seg in purgeable(list(cameras)):
            if free >= disk_reserve_bytes:
                break
            freed = _destroy(db, root, seg, cameras[seg.camera_id].commune_insee, "disk_full", now)
            free += freed
            report.destroyed += 1
            report.destroyed_bytes += freed
        report.disk_full = free < disk_reserve_bytes
    db.flush()
    return report


def purge_expired_exports(db: Session, now: datetime, report: PurgeReport) -> None:
    """Destroy the video files of exports whose transmission has expired."""
    expired = db.scalars(select(Transmission).where(Transmission.expires_at <= now))
    for tr in expired:
        directory = Path(tr.export_dir)
        if not directory.is_dir():
            continue
        files = [p for p in directory.iterdir() if p.is_file() and p.name != MANIFEST_NAME]
        if not files:
            continue  # already destroyed by an earlier pass
        camera = db.get(Camera, tr.camera_id)
        size = 0
        for path in files:
            try:
                size += path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
        db.add(
            Destruction(
                camera_id=tr.camera_id,
                commune_insee=camera.commune_insee if camera is not None else "",
                start_utc=tr.start_utc,
                end_utc=tr.end_utc,
                size_bytes=size,
                reason="transmission_expired",
                destroyed_at=now,
                path=str(directory)[-300:],
            )
        )
        report.exports_destroyed += 1
        report.destroyed_bytes += size
    db.flush()


def commune_usage_bytes(db: Session, camera_ids: list[int]) -> int:
    if not camera_ids:
        return 0
    total = db.scalar(
        select(func.coalesce(func.sum(RecordingSegment.size_bytes), 0)).where(
            RecordingSegment.camera_id.in_(camera_ids)
        )
    )
    return int(total or 0)


def _disk_free(root: Path) -> int:
    try:
        return shutil.disk_usage(root).free
    except OSError:
        return 0


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str  # no_authorisation, quota_full, segment_missing, segment_truncated
    message: str
    camera_id: int | None = None
    commune_insee: str | None = None
    since: datetime | None = None


def recording_conditions(db: Session) -> list[Condition]:
    """Current recording problems of the control plane, for the alarm engine.

    Media-side faults (disk full, read-only, deleted directory) are reported
    per stream in the media process stats (``recording`` sub-dict).
    """
    out: list[Condition] = []
    cams = list(db.scalars(select(Camera).where(Camera.enabled.is_(True))))
    for cam in cams:
        if cam.authorisation_id is None:
            out.append(
                Condition(
                    "no_authorisation",
                    t("recording.condition.no_authorisation", camera=cam.name),
                    camera_id=cam.id,
                    commune_insee=cam.commune_insee,
                )
            )
    for quota in db.scalars(select(CommuneQuota)):
        cids = [c.id for c in cams if c.commune_insee == quota.commune_insee]
        used = commune_usage_bytes(db, cids)
        if used > quota.quota_bytes:
            out.append(
                Condition(
                    "quota_full",
                    t(
                        "recording.condition.quota_full",
                        commune=quota.commune_insee,
                        used_mb=used // 1_000_000,
                        quota_mb=quota.quota_bytes // 1_000_000,
                    ),
                    commune_insee=quota.commune_insee,
                )
            )
    for seg in db.scalars(select(RecordingSegment).where(RecordingSegment.status != "ok")):
        out.append(
            Condition(
                f"segment_{seg.status}",
                t("recording.condition.segment_missing", path=seg.path),
                camera_id=seg.camera_id,
                since=seg.indexed_at,
            )
        )
    return out
