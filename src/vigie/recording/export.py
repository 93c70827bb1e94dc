"""Exports for judicial requisitions: a standard MP4 by stream copy, signed.

Off the event loop (called from a worker thread or the CLI). The recorded
fragments in the range are concatenated with their decode times rewritten
from wall-clock instants (so gaps keep their real length), then FFmpeg remuxes
them, with a ``mov_text`` subtitle track of date, time and place, into a
``faststart`` MP4. Stream copy cannot start mid-GOP: the export starts at the
keyframe at or before the requested start; the manifest states the exact
range exported and every gap.
"""

from __future__ import annotations

import calendar
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound, Unavailable
from vigie.base.i18n import t
from vigie.media.fmp4 import TIMESCALE_90K
from vigie.media.recfile import retime, scan_bytes
from vigie.recording import manifest as mf
from vigie.recording.index import check_range, segments_in, timeline, utc_to_ms
from vigie.recording.models import Requisition, Transmission
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


def _assemble(
    db: Session, root: Path, camera_id: int, start: datetime, end: datetime, out: Path
) -> tuple[int, int, int]:
    """Write the fMP4 of [start, end); return (first ms, end ms, frames)."""
    start_ms, end_ms = utc_to_ms(start), utc_to_ms(end)
    first_ms: int | None = None
    last_at_ms: int | None = None
    step_ms = 40
    frames = 0
    init_written = False
    with out.open("wb") as f:
        for seg in segments_in(db, camera_id, start, end):
            try:
                data = (root / seg.path).read_bytes()
            except OSError:
                continue  # missing file: skipped, the gap shows in the manifest
            seg_ms = utc_to_ms(seg.start_utc)
            frags: list[tuple[int, int, int, bool]] = []
            info = scan_bytes(data, seg_ms, frags)
            if not init_written:
                f.write(data[: info.init_bytes])
                init_written = True
            if first_ms is None:  # begin at the last keyframe at or before start
                keys = [i for i, fr in enumerate(frags) if fr[3] and seg_ms + fr[0] <= start_ms]
                later = [i for i, fr in enumerate(frags) if fr[3] and seg_ms + fr[0] > start_ms]
                if not keys and not later:
                    continue
                begin = keys[-1] if keys else later[0]
                first_ms = seg_ms + frags[begin][0]
                frags = frags[begin:]
            for rel, a, b, _key in frags:
                at_ms = seg_ms + rel
                if at_ms >= end_ms:
                    break
                f.write(retime(data[a:b], (at_ms - first_ms) * TIMESCALE_90K // 1000))
                frames += 1
                if last_at_ms is not None and 0 < at_ms - last_at_ms < 1000:
                    step_ms = at_ms - last_at_ms
                last_at_ms = at_ms
    if first_ms is None:
        raise NotFound(t("recording.range.empty", start=start.isoformat(), end=end.isoformat()))
    assert last_at_ms is not None
    return first_ms, last_at_ms + step_ms, frames


def _srt_time(ms: int) -> str:
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _subtitles(first_ms: int, end_ms: int, place: str) -> str:
    lines = []
    for n, off in enumerate(range(0, end_ms - first_ms, 1000), start=1):
        at = datetime.fromtimestamp((first_ms + off) / 1000, PARIS)
        text = f"{at:%d/%m/%Y %H:%M:%S} (heure de Paris, UTC{at:%z}) — {place}"
        stop = min(off + 1000, end_ms - first_ms)
        lines.append(f"{n}\n{_srt_time(off)} --> {_srt_time(stop)}\n{text}\n")
    return "\n".join(lines)


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
) -> ExportResult:
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
    camera = db.get(Camera, camera_id)
    if camera is None:
        raise NotFound(t("camera.not_found"))
    requisition = db.get(Requisition, requisition_id) if requisition_id is not None else None
    if requisition_id is not None and requisition is None:
        raise NotFound(t("recording.hold.not_found", id=requisition_id))
    tl = timeline(db, camera_id, start, end)
    place = f"{camera.name}, {camera.commune.name}"
    if camera.site is not None:
        place = f"{camera.name}, {camera.site.name}, {camera.commune.name}"
    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / VIDEO_NAME
    with tempfile.TemporaryDirectory(prefix="vigie-export-") as tmp:
        raw = Path(tmp) / "raw.mp4"
        first_ms, end_ms, frames = _assemble(db, root, camera_id, start, end, raw)
        srt = Path(tmp) / "subs.srt"
        srt.write_text(_subtitles(first_ms, end_ms, place), encoding="utf-8")
        first_utc = datetime.fromtimestamp(first_ms / 1000, start.tzinfo)
        meta = {
            "title": f"Vigie — {place}",
            "creation_time": first_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "comment": (
                f"Caméra {camera.id} ({place}) du {first_utc.isoformat()} "
                f"au {datetime.fromtimestamp(end_ms / 1000, start.tzinfo).isoformat()} (UTC)"
            ),
        }
        if camera.lat is not None and camera.lon is not None:
            meta["location"] = f"{camera.lat:+08.4f}{camera.lon:+09.4f}/"
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(raw), "-i", str(srt)]
        cmd += ["-map", "0:v", "-map", "1:s", "-c:v", "copy", "-c:s", "mov_text"]
        cmd += ["-metadata:s:s:0", "language=fre", "-movflags", "+faststart"]
        for k, v in meta.items():
            cmd += ["-metadata", f"{k}={v}"]
        cmd.append(str(video))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise Unavailable(f"FFmpeg n'a pas pu produire l'export : {proc.stderr[-500:]}")
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
        "exported_range_utc": [
            first_utc.isoformat(),
            datetime.fromtimestamp(end_ms / 1000, start.tzinfo).isoformat(),
        ],
        "gaps_utc": [[g.start_utc.isoformat(), g.end_utc.isoformat()] for g in tl.gaps],
        "frames": frames,
        "created_utc": now.isoformat(),
        "files": [
            {
                "name": VIDEO_NAME,
                "size_bytes": video.stat().st_size,
                "sha256": mf.sha256_file(video),
            }
        ],
    }
    mpath = mf.write_signed(out_dir, manifest, key)
    tr = Transmission(
        camera_id=camera.id,
        requisition_id=requisition_id,
        recipient=recipient,
        service=service,
        start_utc=first_utc,
        end_utc=datetime.fromtimestamp(end_ms / 1000, start.tzinfo),
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
