"""Exports for judicial requisitions: a standard MP4 by stream copy, signed.

Off the event loop (called from a worker thread or the CLI). The recorded
samples in the range are written by ``mp4writer`` into one faststart MP4,
decode times on the wall clock (so gaps keep their real length), with a
subtitle track of date, time and place and the metadata a player shows; the
SHA-256 is computed while writing, and video and manifest are on disk
(``fsync``) before the transmission row exists: evidence is never recorded
as handed over while it sits only in the page cache. Stream copy cannot
start mid-GOP: the export starts at the keyframe at or before the requested
start; the manifest states the exact range exported and every gap.
"""

from __future__ import annotations

import calendar
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.domain.masks import masks_from_json
from vigie.recording import manifest as mf
from vigie.recording import mp4writer as mp4
from vigie.recording.index import check_range, segments_in, timeline, utc_to_ms
from vigie.recording.masking import ENCODER, ENCODER_OPTIONS, masked_selection
from vigie.recording.models import RecordingSegment, Requisition, Transmission
from vigie.storage import audit
from vigie.storage.models import Camera

PARIS = ZoneInfo("Europe/Paris")
MAX_EXPORT_HOURS = 24
VIDEO_NAME = "video.mp4"


def add_one_month(at: datetime) -> datetime:
    """Same day next month (clamped to its last day): the L252-3 one-month clock."""
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


@dataclass(frozen=True, slots=True)
class ExportResult:
    directory: Path
    video: Path
    manifest: dict[str, Any]
    transmission_id: int
    frames: int


def _select(
    root: Path, rows: list[RecordingSegment], start: datetime, end: datetime
) -> mp4.Selection:
    """The recorded samples of [start, end), from the keyframe at or before start."""

    def read(row: RecordingSegment) -> mp4.Segment | None:
        try:
            return mp4.read_segment(root / row.path, utc_to_ms(row.start_utc))
        except (OSError, mp4.SegmentError):
            return None  # missing or unreadable file: skipped, the gap shows in the manifest

    # Two threads: indexing a file is mostly page faults in C, GIL released.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="export-index") as pool:
        read_all = list(pool.map(read, rows))
    segments = [s for s in read_all if s is not None]
    sel = mp4.select(segments, utc_to_ms(start), utc_to_ms(end))
    if sel is None:
        raise NotFound(t("recording.range.empty", start=start.isoformat(), end=end.isoformat()))
    return sel


def _subtitle(at_ms: int, place: str) -> str:
    at = datetime.fromtimestamp(at_ms / 1000, PARIS)
    return f"{at:%d/%m/%Y %H:%M:%S} (heure de Paris, UTC{at:%z}) — {place}"


def check_request(start: datetime, end: datetime, reason: str) -> tuple[datetime, datetime]:
    """What can be refused before any work: the range (aware UTC, ordered, at
    most a day) and the reason; the range, normalised, when accepted."""
    start, end = check_range(start, end)
    if end - start > timedelta(hours=MAX_EXPORT_HOURS):
        raise InvalidArgument(
            t(
                "recording.range.too_long",
                hours=int((end - start).total_seconds() // 3600),
                max_hours=MAX_EXPORT_HOURS,
            ),
            field="end",
        )
    if len(reason.strip()) < 5:
        raise InvalidArgument(t("recording.hold.reason_required"), field="reason")
    return start, end


def export_range(
    db: Session,
    *,
    root: Path,
    data_dir: Path,
    out_dir: Path,
    camera_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    operator: str,
    operator_account_id: int | None,
    recipient: str,
    service: str,
    reason: str,
    requisition_id: int | None = None,
    durable: bool = True,
    progress: Callable[[float], None] | None = None,
) -> ExportResult:
    """Export ``[start, end)`` of a camera; the files are on disk (``fsync``)
    before the transmission is recorded. ``durable=False`` only lets the
    benchmark measure the page-cache path on its own. ``progress(fraction)``
    is called as the work advances (from this thread)."""
    start, end = check_request(start, end, reason)
    camera = db.get(Camera, camera_id)
    if camera is None:
        raise NotFound(t("camera.not_found"))
    requisition = db.get(Requisition, requisition_id) if requisition_id is not None else None
    if requisition_id is not None and requisition is None:
        raise NotFound(t("recording.hold.not_found", id=requisition_id))
    rows = segments_in(db, camera_id, start, end)
    tl = timeline(db, camera_id, start, end, rows)
    place = f"{camera.name}, {camera.commune.name}"
    if camera.site is not None:
        place = f"{camera.name}, {camera.site.name}, {camera.commune.name}"
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / VIDEO_NAME
    masks = masks_from_json(camera.privacy_masks)
    sel = _select(root, rows, start, end)
    work = tempfile.TemporaryDirectory(prefix=".masking-", dir=out_dir) if masks else None
    source = sel
    try:
        # Progress: painting (masked cameras) is nearly all the work, else writing.
        share = 0.95 if work is not None else 0.0
        if work is not None:  # privacy masks: every frame painted, H.264 again
            sel = masked_selection(
                source, masks, Path(work.name),
                None if progress is None else lambda d, n: progress(share * d / max(1, n)),
            )  # fmt: skip
        first_ms, end_ms, frames = sel.first_ms, sel.end_ms, sel.frames
        first_utc = datetime.fromtimestamp(first_ms / 1000, start.tzinfo)
        end_utc = datetime.fromtimestamp(end_ms / 1000, start.tzinfo)
        tags = mp4.Tags(
            title=f"Vigie — {place}",
            comment=(
                f"Caméra {camera.id} ({place}) du {first_utc.isoformat()} "
                f"au {end_utc.isoformat()} (UTC)"
            ),
            lat=camera.lat,
            lon=camera.lon,
        )
        written = mp4.write_mp4(
            video, sel, subtitle=lambda ms: _subtitle(ms, place), tags=tags, durable=durable,
            progress=None if progress is None
            else lambda w, n: progress(share + (1 - share) * w / max(1, n)),
        )  # fmt: skip
    finally:
        sel.close()
        source.close()
        if work is not None:
            work.cleanup()
    key = mf.load_or_create_key(data_dir)
    manifest: dict[str, Any] = {
        "format": "vigie-export/1",
        "camera": {"id": camera.id, "name": camera.name, "place": place},
        "commune": {"insee_code": camera.commune_insee, "name": camera.commune.name},
        "requisition": None
        if requisition is None
        else {
            "id": requisition.id,
            "procedure_number": requisition.procedure_number,
            "officer": requisition.officer,
            "service": requisition.service,
        },
        "operator": operator,
        "recipient": {"name": recipient, "service": service},
        "requested_range_utc": [start.isoformat(), end.isoformat()],
        "exported_range_utc": [first_utc.isoformat(), end_utc.isoformat()],
        "gaps_utc": [[g.start_utc.isoformat(), g.end_utc.isoformat()] for g in tl.gaps],
        "frames": frames,
        # CSI L251-3: areas painted black on every frame (then re-encoded
        # in H.264); without masks the video is the camera's stream, copied.
        "privacy_masks": [m.to_json() for m in masks],
        "video": (
            {"method": "masked_reencode", "encoder": ENCODER, "options": ENCODER_OPTIONS}
            if masks
            else {"method": "stream_copy"}
        ),
        "created_utc": now.isoformat(),
        "files": [
            {
                "name": VIDEO_NAME,
                "size_bytes": written.size_bytes,
                "sha256": written.sha256,
            }
        ],
    }
    mpath = mf.write_signed(out_dir, manifest, key, durable=durable)
    tr = Transmission(
        camera_id=camera.id,
        requisition_id=requisition_id,
        recipient=recipient,
        service=service,
        start_utc=first_utc,
        end_utc=end_utc,
        transmitted_at=now,
        expires_at=add_one_month(now),
        operator=operator,
        manifest_sha256=mf.sha256_file(mpath),
        export_dir=str(out_dir),
    )
    db.add(tr)
    db.flush()
    audit.append(
        db,
        at=now,
        action="export",
        actor=operator,
        actor_account_id=operator_account_id,
        commune_insee=camera.commune_insee,
        target=f"camera:{camera.id}",
        reason=reason,
        details={"transmission": tr.id, "range_utc": manifest["exported_range_utc"]},
    )
    return ExportResult(out_dir, video, manifest, tr.id, frames)
