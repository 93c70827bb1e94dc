"""The health monitor: one round turns the media processes' stats into
alarm conditions, alarms, health samples and escalations; ``deliver``
empties the outbox on its own schedule.

It runs in a worker thread of the control plane (``asyncio.to_thread``
from the background loop), never on the event loop itself. Image-check
conditions come from the checks process, which runs its own engine over
its own kinds (``IMAGE_KINDS``) with the same database service.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.continuity import alarms
from vigie.continuity.health import (
    camera_conditions,
    node_conditions,
    purge_samples,
    record_samples,
)
from vigie.continuity.models import CheckSettings
from vigie.continuity.notify import Sender, deliver_due
from vigie.domain.alarms import Condition, Delays, Hysteresis
from vigie.domain.imagecheck import CHECK_KINDS
from vigie.recording.retention import recording_conditions
from vigie.storage.models import Camera

log = logging.getLogger(__name__)

IMAGE_KINDS = frozenset(CHECK_KINDS)
# Offline: raised after 2 s without picture, cleared after 4 s of pictures —
# with stats every 2 s a dead camera alarms within ~6 s; a camera that
# drops every few seconds never stays up 4 s and remains one open alarm.
STREAM_DELAYS = {"offline": Delays(2.0, 3.0)}  # clear > a flapping camera's up-time
DEFAULT_DELAYS = Delays(10.0, 10.0)
SAMPLE_EVERY_S = 30.0
PURGE_EVERY_S = 3600.0


def local_node(data_dir: Path) -> dict[str, Any]:
    """This machine: free disk where recordings and the database live, load."""
    usage = shutil.disk_usage(data_dir)
    load1, _, _ = os.getloadavg()
    return {
        "disk_free_bytes": usage.free,
        "disk_total_bytes": usage.total,
        "load_1m": round(load1, 2),
        "cpus": os.cpu_count() or 1,
    }


# Control-plane recording problems (issue #3) and how loud their alarm is.
RECORDING_SEVERITY = {"quota_full": "critical", "no_authorisation": "warning"}


def recording_alarm_conditions(db: Session) -> list[Condition]:
    """Recording problems seen by the control plane (quota full, camera without
    authorisation, missing or truncated segment) as alarm conditions; media-side
    faults (disk full, read-only…) arrive through each stream's stats."""
    out = []
    for c in recording_conditions(db):
        source, subject = (
            ("camera", str(c.camera_id)) if c.camera_id is not None
            else ("commune", c.commune_insee or "?")
        )  # fmt: skip
        out.append(
            Condition(
                source,
                subject,
                f"recording_{c.kind}",
                RECORDING_SEVERITY.get(c.kind, "warning"),
                c.message,
            )
        )
    return out


@dataclass
class Monitor:
    senders: dict[str, Sender] = field(default_factory=dict)
    escalate_after_s: float = 600.0
    data_dir: Path | None = None
    engine: Hysteresis = field(default_factory=lambda: Hysteresis(DEFAULT_DELAYS, STREAM_DELAYS))
    _restored: bool = False
    _last_sample_s: float | None = None
    _last_purge_s: float | None = None

    def tick(
        self,
        db: Session,
        *,
        now: datetime,
        now_s: float,
        streams: Mapping[str, Mapping[str, Any]],
        processes: Mapping[int, Mapping[str, Any]],
        process_errors: Mapping[int, str],
        node_count: int,
    ) -> list[Condition]:
        """One round; commits. Returns the conditions seen."""
        if not self._restored:
            self.engine.restore(c for c in alarms.open_conditions(db) if c.kind not in IMAGE_KINDS)
            self._restored = True
        settings = {s.camera_id: s for s in db.scalars(select(CheckSettings))}
        cameras = list(db.scalars(select(Camera).where(Camera.enabled.is_(True))))
        conditions: list[Condition] = []
        per_camera: dict[int, Mapping[str, Any] | None] = {}
        for cam in cameras:
            stats = streams.get(f"{cam.id}/main")
            per_camera[cam.id] = stats
            cs = settings.get(cam.id)
            conditions += camera_conditions(
                cam.id,
                cam.name,
                stats,
                close_up=bool(cs and cs.close_up),
                fast_moving=bool(cs and cs.fast_moving),
            )
        conditions += recording_alarm_conditions(db)
        nodes: dict[str, Mapping[str, Any] | None] = {}
        if self.data_dir is not None:
            nodes["local"] = local_node(self.data_dir)
            conditions += node_conditions("local", nodes["local"], None)
        for index in range(node_count):
            name = f"media-{index}"
            proc = processes.get(index) if index not in process_errors else None
            nodes[name] = proc
            conditions += node_conditions(name, proc, process_errors.get(index))
        transitions = self.engine.update(now_s, conditions)
        alarms.apply(db, now=now, transitions=transitions)
        alarms.escalate_due(db, now=now, after_s=self.escalate_after_s)
        if self._last_sample_s is None or now_s - self._last_sample_s >= SAMPLE_EVERY_S:
            interval = (
                SAMPLE_EVERY_S if self._last_sample_s is None else now_s - self._last_sample_s
            )
            record_samples(db, at=now, interval_s=interval, cameras=per_camera, nodes=nodes)
            self._last_sample_s = now_s
        if self._last_purge_s is None or now_s - self._last_purge_s >= PURGE_EVERY_S:
            purge_samples(db, now=now)
            self._last_purge_s = now_s
        db.commit()
        return conditions

    def deliver(self, db: Session, *, now: datetime) -> tuple[int, int]:
        """Send what is due in the outbox. Runs apart from ``tick`` so a slow
        or dead receiver never delays alarm detection."""
        return deliver_due(db, now=now, senders=self.senders) if self.senders else (0, 0)
