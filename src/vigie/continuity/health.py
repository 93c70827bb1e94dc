"""Camera and media-process health: conditions for the alarm engine, samples
kept 30 days, availability per camera and per commune.

``camera_conditions`` is pure: it reads one stream's stats (the media
process's ``StreamStats.snapshot``, plus the ``recording`` sub-dict when the
recorder reports one) and returns the problems seen now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vigie.base.i18n import DEFAULT_LANG, t
from vigie.continuity.models import HealthSample
from vigie.domain.alarms import Condition

RETENTION_DAYS = 30
STALE_AFTER_S = 5.0
CLOCK_DRIFT_MAX_S = 2.0
RECORDING_LAG_MAX_S = 30.0
DISK_LOW_BYTES = 20 * 10**9


@dataclass(frozen=True)
class LegalMinimum:
    """Rule 9 — arrêté of 3 August 2007."""

    width: int
    height: int
    fps: float


def legal_minimum(*, close_up: bool, fast_moving: bool) -> LegalMinimum:
    if close_up:
        return LegalMinimum(704, 576, 12.0 if fast_moving else 6.0)
    return LegalMinimum(352, 288, 12.0 if fast_moving else 6.0)


def camera_conditions(
    camera_id: int,
    name: str,
    stats: Mapping[str, Any] | None,
    *,
    close_up: bool = False,
    fast_moving: bool = False,
) -> list[Condition]:
    """Problems of one camera's main stream, as alarm conditions."""
    subject = str(camera_id)

    def cond(kind: str, severity: str, key: str, **params: object) -> Condition:
        message = t(f"continuity.cond.{key}", DEFAULT_LANG, camera=name, **params)
        return Condition("camera", subject, kind, severity, message)

    if stats is None:
        # Not (yet) reported by a media process: a process down is its own
        # alarm (``node_conditions``); a stream just pushed has no stats yet.
        return []
    state = stats.get("state")
    if state == "starting" or (state == "connecting" and not stats.get("error_code")):
        return []  # first connection in progress: not a failure yet
    if state not in ("online", "stalled"):
        detail = stats.get("message") or state or "?"
        return [cond("offline", "critical", "offline", detail=detail)]
    out: list[Condition] = []
    age = stats.get("last_packet_age_s")
    if state == "stalled" or (age is not None and float(age) > STALE_AFTER_S):
        out.append(cond("offline", "critical", "stale", seconds=int(float(age or 0))))
        return out
    minimum = legal_minimum(close_up=close_up, fast_moving=fast_moving)
    width, height = stats.get("width"), stats.get("height")
    if width and height and (int(width) < minimum.width or int(height) < minimum.height):
        out.append(
            cond(
                "resolution",
                "warning",
                "resolution",
                width=width,
                height=height,
                min_width=minimum.width,
                min_height=minimum.height,
            )
        )
    fps = stats.get("fps")
    # fps is measured over a sliding window; 10 % margin keeps a 6.0 camera
    # measured at 5.9 from raising a legal alarm.
    if fps is not None and float(fps) > 0 and float(fps) < minimum.fps * 0.9:
        out.append(cond("fps", "warning", "fps", fps=round(float(fps), 1), min_fps=minimum.fps))
    drift = stats.get("clock_drift_s")
    if drift is not None and abs(float(drift)) > CLOCK_DRIFT_MAX_S:
        out.append(cond("clock_drift", "info", "clock_drift", seconds=round(float(drift), 1)))
    recording = stats.get("recording")
    if isinstance(recording, Mapping):
        lag = recording.get("lag_s")
        if lag is not None and float(lag) > RECORDING_LAG_MAX_S:
            out.append(cond("recording_lag", "warning", "recording_lag", seconds=int(float(lag))))
        if recording.get("state") == "error":
            detail = recording.get("last_error") or "?"
            out.append(cond("recording", "critical", "recording_error", detail=detail))
    return out


def node_conditions(
    node: str, process: Mapping[str, Any] | None, error: str | None
) -> list[Condition]:
    if process is None or error:
        message = t("continuity.cond.process_down", node=node, detail=error or "?")
        return [Condition("process", node, "down", "critical", message)]
    free = process.get("disk_free_bytes")
    if free is not None and int(free) < DISK_LOW_BYTES:
        message = t("continuity.cond.disk_low", node=node, free_gb=round(int(free) / 1e9, 1))
        return [Condition("node", node, "disk_low", "warning", message)]
    return []


def record_samples(
    db: Session,
    *,
    at: datetime,
    interval_s: float,
    cameras: Mapping[int, Mapping[str, Any] | None],
    nodes: Mapping[str, Mapping[str, Any] | None],
) -> None:
    """One sample per camera and per node, in the caller's transaction."""
    keep = (
        "fps",
        "bitrate_kbps",
        "gop_frames",
        "width",
        "height",
        "last_packet_age_s",
        "reconnects",
    )
    for camera_id, stats in cameras.items():
        online = stats is not None and stats.get("state") == "online"
        rec = stats.get("recording") if stats is not None else None
        recording = None
        values: dict[str, Any] = {}
        if stats is not None:
            values = {k: stats.get(k) for k in keep}
        if isinstance(rec, Mapping):
            recording = rec.get("state") == "recording"
            values["recording_lag_s"] = rec.get("lag_s")
        db.add(
            HealthSample(
                at=at,
                camera_id=camera_id,
                interval_s=interval_s,
                online=online,
                recording=recording,
                values=values,
            )
        )
    for node, process in nodes.items():
        db.add(
            HealthSample(
                at=at,
                node=node,
                interval_s=interval_s,
                online=process is not None,
                values=dict(process or {}),
            )
        )


def purge_samples(db: Session, *, now: datetime, keep_days: int = RETENTION_DAYS) -> int:
    """Delete samples older than ``keep_days``; returns how many."""
    result = db.execute(
        delete(HealthSample).where(HealthSample.at < now - timedelta(days=keep_days))
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Availability:
    live_pct: float
    recording_pct: float | None
    sampled_s: float
    period_s: float


def availability(
    db: Session, *, camera_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, Availability]:
    """Percent of [start, end) each camera was live (and recording).

    Each sample vouches for the ``interval_s`` before it; time with no sample
    (Vigie itself stopped) counts as unavailable — the honest reading.
    """
    ids = list(camera_ids)
    period_s = (end - start).total_seconds()
    live = dict.fromkeys(ids, 0.0)
    rec = dict.fromkeys(ids, 0.0)
    rec_known = dict.fromkeys(ids, 0.0)
    sampled = dict.fromkeys(ids, 0.0)
    rows = db.execute(
        select(
            HealthSample.camera_id,
            HealthSample.interval_s,
            HealthSample.online,
            HealthSample.recording,
        ).where(HealthSample.camera_id.in_(ids), HealthSample.at > start, HealthSample.at <= end)
    )
    for camera_id, interval_s, online, recording in rows:
        assert camera_id is not None
        sampled[camera_id] += interval_s
        if online:
            live[camera_id] += interval_s
        if recording is not None:
            rec_known[camera_id] += interval_s
            if recording:
                rec[camera_id] += interval_s
    out: dict[int, Availability] = {}
    for cid in ids:
        recording_pct = 100.0 * min(rec[cid], period_s) / period_s if rec_known[cid] else None
        out[cid] = Availability(
            live_pct=round(100.0 * min(live[cid], period_s) / period_s, 2) if period_s else 0.0,
            recording_pct=round(recording_pct, 2) if recording_pct is not None else None,
            sampled_s=sampled[cid],
            period_s=period_s,
        )
    return out


def commune_availability(per_camera: Mapping[int, Availability]) -> float:
    """A commune's figure: the mean of its cameras' live percentages."""
    if not per_camera:
        return 0.0
    return round(sum(a.live_pct for a in per_camera.values()) / len(per_camera), 2)
