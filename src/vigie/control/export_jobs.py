"""Exports run as background jobs, one at a time, off the event loop.

An export can take minutes (a day of footage, or a camera with privacy masks
whose every frame is painted and encoded again): too long for one HTTP
request behind a reverse proxy. ``POST /api/cameras/{id}/exports`` checks
the request and the caller's rights at once, queues the job and answers 202;
the page polls ``GET /api/exports/jobs/{id}`` for its progress and result.

Jobs live in the control-plane process's memory: a restart loses the jobs in
flight. Their partial directories are never referenced by a transmission (the
transmission row is written last, in the job's transaction); at start-up
``remove_orphans`` deletes export directories that no transmission refers to.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigie.base.clock import Clock
from vigie.base.errors import VigieError
from vigie.base.i18n import t
from vigie.recording.models import Transmission
from vigie.storage.db import session_scope

log = logging.getLogger(__name__)
KEEP_FINISHED = 200  # finished jobs remembered for their owners to read


@dataclass
class ExportJob:
    id: str
    camera_id: int
    account_id: int | None
    created_at: datetime
    out_dir: Path
    status: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "camera_id": self.camera_id,
            "status": self.status,
            "progress": round(self.progress, 3),
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            **self.result,
        }


class ExportJobs:
    """A queue of export jobs run by one worker thread."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock) -> None:
        self._factory = factory
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-job")
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()

    def submit(
        self,
        *,
        camera_id: int,
        account_id: int | None,
        out_dir: Path,
        run: Callable[[Session, Callable[[float], None]], dict[str, Any]],
    ) -> ExportJob:
        """Queue ``run(db, progress)``; its dict becomes the job's result and
        its session is committed when it returns."""
        job = ExportJob(uuid.uuid4().hex, camera_id, account_id, self._clock.now(), out_dir)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, run)
        return job

    def get(self, job_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(
        self, job: ExportJob, run: Callable[[Session, Callable[[float], None]], dict[str, Any]]
    ) -> None:
        job.status = "running"

        def progress(fraction: float) -> None:
            job.progress = min(1.0, max(job.progress, fraction))

        try:
            with session_scope(self._factory) as db:
                job.result = run(db, progress)
            job.progress, job.status = 1.0, "done"
        except VigieError as exc:  # the French message the page shows
            job.error, job.status = str(exc), "failed"
        except Exception:
            log.exception("export job %s failed", job.id)
            job.error, job.status = t("export.failed"), "failed"
        if job.status == "failed":
            shutil.rmtree(job.out_dir, ignore_errors=True)  # nothing refers to it

    def remove_orphans(self, exports_dir: Path) -> list[str]:
        """Delete the export directories no transmission refers to (left by a
        job cut short by a restart); run at start-up, before any job."""
        if not exports_dir.is_dir():
            return []
        with session_scope(self._factory) as db:
            known = {Path(d).name for d in db.scalars(select(Transmission.export_dir))}
        removed = []
        for entry in sorted(exports_dir.iterdir()):
            if entry.is_dir() and entry.name not in known:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
                log.warning("export directory %s removed: no transmission refers to it", entry)
        return removed

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
        for j in sorted(finished, key=lambda j: j.created_at)[:-KEEP_FINISHED]:
            del self._jobs[j.id]
