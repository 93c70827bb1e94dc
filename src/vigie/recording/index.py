"""The segment index: built from the files the media processes write.

The files are the truth; the index is rebuilt from them at start-up
(``sync``) and kept current by ``RecordingIndexer`` (a background thread, never
the event loop). ``check`` reports, and with ``fix=True`` repairs, what
disagrees: missing or truncated files, files without rows, rows without files.
"""

from __future__ import annotations

import bisect
import logging
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigie.base.clock import Clock, require_utc
from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.media.recfile import SEGMENT_SUFFIX, SegmentScan, scan, start_ms_of
from vigie.recording.models import Destruction, RecordingSegment
from vigie.storage.models import Camera

log = logging.getLogger(__name__)

_KF = struct.Struct("<II")
GAP_TOLERANCE_MS = 2000  # consecutive segments closer than this form one span
ORPHANS_DIR = "_orphans"


def ms_to_utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def utc_to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def pack_keyframes(keyframes: list[tuple[int, int]]) -> bytes:
    return b"".join(_KF.pack(ms, off) for ms, off in keyframes)


def unpack_keyframes(blob: bytes) -> list[tuple[int, int]]:
    return [_KF.unpack_from(blob, i) for i in range(0, len(blob), _KF.size)]


def _apply_scan(row: RecordingSegment, info: SegmentScan) -> None:
    row.start_utc = ms_to_utc(info.start_ms)
    row.end_utc = ms_to_utc(info.end_ms)
    row.size_bytes = info.valid_bytes
    row.frames = info.frames
    row.init_bytes = info.init_bytes
    row.keyframes = pack_keyframes(info.keyframes)


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # missing, truncated, orphan_file, orphan_row
    path: str
    message: str
    fixed: bool = False


def _camera_files(root: Path) -> dict[int, list[Path]]:
    out: dict[int, list[Path]] = {}
    if not root.is_dir():
        return out
    for entry in os.scandir(root):
        if entry.is_dir() and entry.name.isdigit():
            out[int(entry.name)] = sorted(
                Path(e.path)
                for e in os.scandir(entry.path)
                if e.name.endswith(SEGMENT_SUFFIX) and start_ms_of(Path(e.name)) is not None
            )
    return out


def sync(db: Session, root: Path, *, now: datetime, recent_only: bool = False) -> int:
    """Index new or grown segment files; return how many rows changed.

    ``recent_only`` looks only at each camera's files from its newest indexed
    segment on (the periodic pass); the start-up pass looks at everything.
    """
    cameras = set(db.scalars(select(Camera.id)))
    changed = 0
    for camera_id, files in _camera_files(root).items():
        if camera_id not in cameras:
            continue
        rows = (
            {
                r.path: r
                for r in db.scalars(
                    select(RecordingSegment).where(RecordingSegment.camera_id == camera_id)
                )
            }
            if not recent_only
            else {}
        )
        if recent_only:
            newest = db.scalars(
                select(RecordingSegment)
                .where(RecordingSegment.camera_id == camera_id)
                .order_by(RecordingSegment.start_utc.desc())
                .limit(1)
            ).first()
            if newest is not None:
                floor = utc_to_ms(newest.start_utc)
                files = [f for f in files if (start_ms_of(f) or 0) >= floor]
                rows = {
                    r.path: r
                    for r in db.scalars(
                        select(RecordingSegment).where(
                            RecordingSegment.camera_id == camera_id,
                            RecordingSegment.start_utc >= newest.start_utc,
                        )
                    )
                }
        for path in files:
            rel = f"{camera_id}/{path.name}"
            row = rows.get(rel)
            try:
                size = path.stat().st_size
                if row is not None and row.size_bytes == size and row.status == "ok":
                    continue
                info = scan(path)
            except OSError:
                continue  # vanished meanwhile; check() will say so
            if info.frames == 0:
                continue  # just opened: nothing playable yet
            if row is None:
                row = RecordingSegment(camera_id=camera_id, path=rel, indexed_at=now)
                db.add(row)
            _apply_scan(row, info)
            row.status = "ok"
            row.indexed_at = now
            changed += 1
    db.flush()
    return changed


def check(db: Session, root: Path, *, now: datetime, fix: bool = False) -> list[Problem]:
    """Compare index and files; with ``fix``, repair (rows follow files)."""
    problems: list[Problem] = []
    files = _camera_files(root)
    cameras = set(db.scalars(select(Camera.id)))
    on_disk = {f"{cid}/{p.name}": p for cid, paths in files.items() for p in paths}
    rows = {r.path: r for r in db.scalars(select(RecordingSegment))}
    for rel, row in rows.items():
        path = on_disk.get(rel)
        if path is None:
            problems.append(
                Problem("orphan_row", rel, t("recording.check.orphan_row", path=rel), fix)
            )
            if fix:
                cam = db.get(Camera, row.camera_id)
                db.add(
                    Destruction(
                        camera_id=row.camera_id,
                        commune_insee=cam.commune_insee if cam else "",
                        start_utc=row.start_utc,
                        end_utc=row.end_utc,
                        size_bytes=row.size_bytes,
                        reason="file_missing",
                        destroyed_at=now,
                        path=rel,
                    )
                )
                db.delete(row)
            continue
        info = scan(path)
        if info.truncated:
            problems.append(
                Problem(
                    "truncated",
                    rel,
                    t(
                        "recording.check.truncated",
                        path=rel,
                        valid_bytes=info.valid_bytes,
                        file_bytes=info.file_bytes,
                    ),
                    fix,
                )
            )
            if fix:  # keep what is readable; the torn tail is dropped
                os.truncate(path, info.valid_bytes)
                _apply_scan(row, scan(path))
        elif row.size_bytes != info.valid_bytes:
            _apply_scan(row, info)  # grown since last pass: not a fault
    for rel, path in on_disk.items():
        if rel in rows:
            continue
        cid = int(rel.split("/", 1)[0])
        problems.append(
            Problem("orphan_file", rel, t("recording.check.orphan_file", path=rel), fix)
        )
        if fix:
            if cid in cameras:
                info = scan(path)
                if info.truncated:
                    os.truncate(path, info.valid_bytes)
                    info = scan(path)
                row = RecordingSegment(camera_id=cid, path=rel, indexed_at=now, status="ok")
                _apply_scan(row, info)
                db.add(row)
            else:  # camera unknown: keep the footage aside, never delete it silently
                dest = root / ORPHANS_DIR / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                path.rename(dest)
    db.flush()
    return problems


# --- reading the index ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    start_utc: datetime
    end_utc: datetime


@dataclass(frozen=True, slots=True)
class Timeline:
    spans: list[Span]
    gaps: list[Span]


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start = require_utc(start, "start")
    end = require_utc(end, "end")
    if end <= start:
        raise InvalidArgument(
            t("recording.range.reversed", start=start.isoformat(), end=end.isoformat()),
            field="end",
        )
    return start, end


def segments_in(
    db: Session, camera_id: int, start: datetime, end: datetime
) -> list[RecordingSegment]:
    # A segment lasts at most a few minutes: bound the scan of the (camera, start) index.
    lookback = start - timedelta(hours=1)
    return list(
        db.scalars(
            select(RecordingSegment)
            .where(
                RecordingSegment.camera_id == camera_id,
                RecordingSegment.start_utc >= lookback,
                RecordingSegment.start_utc < end,
                RecordingSegment.end_utc > start,
            )
            .order_by(RecordingSegment.start_utc)
        )
    )


def timeline(
    db: Session,
    camera_id: int,
    start: datetime,
    end: datetime,
    rows: list[RecordingSegment] | None = None,
) -> Timeline:
    """Recorded spans and the gaps between them inside [start, end).

    ``rows``: ``segments_in`` for the same range, when the caller already has it.
    """
    start, end = check_range(start, end)
    spans: list[Span] = []
    for seg in segments_in(db, camera_id, start, end) if rows is None else rows:
        s, e = max(seg.start_utc, start), min(seg.end_utc, end)
        if spans and (s - spans[-1].end_utc).total_seconds() * 1000 <= GAP_TOLERANCE_MS:
            spans[-1] = Span(spans[-1].start_utc, max(e, spans[-1].end_utc))
        else:
            spans.append(Span(s, e))
    gaps: list[Span] = []
    cursor = start
    for sp in spans:
        if sp.start_utc > cursor:
            gaps.append(Span(cursor, sp.start_utc))
        cursor = max(cursor, sp.end_utc)
    if cursor < end:
        gaps.append(Span(cursor, end))
    return Timeline(spans, gaps)


@dataclass(frozen=True, slots=True)
class SeekPoint:
    segment: RecordingSegment
    keyframe_utc: datetime
    byte_offset: int


def seek(db: Session, camera_id: int, at: datetime) -> SeekPoint:
    """The keyframe at or before ``at`` (or the first recorded one after a gap)."""
    at = require_utc(at, "at")
    seg = db.scalars(
        select(RecordingSegment)
        .where(
            RecordingSegment.camera_id == camera_id,
            RecordingSegment.start_utc <= at,
            RecordingSegment.start_utc >= at - timedelta(hours=1),
        )
        .order_by(RecordingSegment.start_utc.desc())
        .limit(1)
    ).first()
    if seg is None or seg.end_utc <= at:
        seg = db.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.camera_id == camera_id, RecordingSegment.start_utc > at)
            .order_by(RecordingSegment.start_utc)
            .limit(1)
        ).first()
        if seg is None:
            raise NotFound(t("recording.range.empty", start=at.isoformat(), end="…"))
        at = seg.start_utc
    kfs = unpack_keyframes(seg.keyframes)
    rel = int((at - seg.start_utc).total_seconds() * 1000)
    i = max(0, bisect.bisect_right([k[0] for k in kfs], rel) - 1)
    ms, off = kfs[i]
    return SeekPoint(seg, seg.start_utc + timedelta(milliseconds=ms), off)


class RecordingIndexer:
    """Background thread: full sync at start, then the recent files every ``period_s``."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        root: Path,
        clock: Clock,
        *,
        period_s: float = 5.0,
        after_pass: Callable[[Session], None] | None = None,
    ) -> None:
        self._factory = factory
        self._root = root
        self._clock = clock
        self._period = period_s
        self._after = after_pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-indexer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def run_once(self, *, recent_only: bool) -> None:
        with self._factory() as db:
            sync(db, self._root, now=self._clock.now(), recent_only=recent_only)
            if self._after is not None:
                self._after(db)
            db.commit()

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self.run_once(recent_only=not first)
                first = False
            except Exception:  # keep indexing whatever one pass hit
                log.exception("recording index pass failed")
            self._stop.wait(self._period)
