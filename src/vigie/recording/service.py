"""Background work of recording in the control plane: index and purge, in one
thread (never the event loop)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from vigie.base.clock import Clock, RealClock
from vigie.recording.index import RecordingIndexer
from vigie.recording.retention import PurgeReport, purge

log = logging.getLogger(__name__)

PURGE_EVERY_PASSES = 12  # with a 5 s index period: a purge pass every minute


class RecordingService:
    def __init__(
        self,
        factory: sessionmaker[Session],
        root: Path,
        clock: Clock | None = None,
        *,
        period_s: float = 5.0,
        on_quota_full: Callable[[set[str]], None] | None = None,
    ) -> None:
        self._on_quota_full = on_quota_full
        self.root = root
        self.clock = clock or RealClock()
        self.last_purge: PurgeReport | None = None
        self._passes = 0
        self.indexer = RecordingIndexer(
            factory, root, self.clock, period_s=period_s, after_pass=self._after_pass
        )

    def _after_pass(self, db: Session) -> None:
        if self._passes % PURGE_EVERY_PASSES == 0:
            self.last_purge = purge(db, self.root, self.clock.now())
            if self._on_quota_full is not None:
                self._on_quota_full(set(self.last_purge.quota_full))
            if self.last_purge.destroyed:
                log.info(
                    "recording purge: %d segments, %d bytes",
                    self.last_purge.destroyed,
                    self.last_purge.destroyed_bytes,
                )
        self._passes += 1

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.indexer.start()

    def stop(self) -> None:
        self.indexer.stop()
