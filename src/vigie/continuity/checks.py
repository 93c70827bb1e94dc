"""The image-checks process (``vigie checks``): at most one keyframe per
second per camera, fetched undecoded from the media processes, decoded here
to an 80×60 grey picture (``vigie.media.keyframes``), checked with
``vigie.domain.imagecheck``, and turned into alarms by its own hysteresis
engine over the image kinds only (covered, blurred, moved, frozen).

Never runs in ingest threads nor on an event loop: it is its own process.
References are kept as ``<data_dir>/checks/<camera_id>.npy`` and refreshed
when an operator asks (``CheckSettings.reference_requested_at``) or when
none exists yet (the first keyframe becomes the reference).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigie.base.clock import Clock, RealClock
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.continuity import alarms
from vigie.continuity.models import CheckSettings
from vigie.continuity.references import reference_path, references_dir
from vigie.domain.alarms import Condition, Delays, Hysteresis
from vigie.domain.imagecheck import CHECK_KINDS, CameraChecker, Thresholds
from vigie.domain.tickets import internal_api_token
from vigie.media.keyframes import KeyframeDecoder
from vigie.storage.models import Camera

log = logging.getLogger(__name__)

SEVERITY = {"covered": "critical", "moved": "warning", "blurred": "warning", "frozen": "critical"}
# Image findings are noisier than a dead stream: 10 s to raise and to clear.
IMAGE_DELAYS = Delays(10.0, 10.0)
RELOAD_EVERY_S = 10.0


@dataclass
class _Camera:
    camera_id: int
    name: str
    checker: CameraChecker
    reference_at: datetime | None = None
    last_dts: int | None = None
    last_fetch_s: float = -1e9
    stream: str = "main"
    decoder: KeyframeDecoder = field(default_factory=KeyframeDecoder)
    findings: frozenset[str] = frozenset()


@dataclass
class ChecksRunner:
    settings: Settings
    sessions: sessionmaker[Session]
    engine: Hysteresis = field(default_factory=lambda: Hysteresis(IMAGE_DELAYS))
    clock: Clock = field(default_factory=RealClock)
    cameras: dict[int, _Camera] = field(default_factory=dict)
    _loaded_s: float = -1e9
    _restored: bool = False

    @property
    def refs_dir(self) -> Path:
        return references_dir(self.settings.data_dir)

    def _node_url(self, camera_id: int) -> str:
        return self.settings.media_internal_url(camera_id % self.settings.media_processes)

    def reload(self, db: Session) -> None:
        conf = {s.camera_id: s for s in db.scalars(select(CheckSettings))}
        seen = set()
        for cam in db.scalars(select(Camera).where(Camera.enabled.is_(True))):
            cs = conf.get(cam.id)
            if cs is not None and not cs.enabled:
                continue
            seen.add(cam.id)
            thresholds = Thresholds.from_json(dict(cs.thresholds)) if cs else Thresholds()
            state = self.cameras.get(cam.id)
            if state is None:
                state = _Camera(cam.id, cam.name, CameraChecker(thresholds))
                ref = reference_path(self.settings.data_dir, cam.id)
                if ref.exists():
                    state.checker.set_reference(np.load(ref))
                    state.reference_at = datetime.fromtimestamp(ref.stat().st_mtime, UTC)
                self.cameras[cam.id] = state
            state.checker.thresholds = thresholds
            # The sub stream is enough for an 80×60 check and costs a fraction
            # of the main stream's decode (bench/checks.py).
            state.stream = "sub" if cam.sub_url else "main"
            state.name = cam.name
            requested = cs.reference_requested_at if cs else None
            if requested is not None and (
                state.reference_at is None or requested > state.reference_at
            ):
                state.checker.reference = None  # the next keyframe becomes the reference
        for gone in set(self.cameras) - seen:
            del self.cameras[gone]

    def check_one(self, client: httpx.Client, cam: _Camera, now_s: float) -> list[Condition]:
        """Fetch, decode and check one camera's newest keyframe (if new)."""
        try:
            res = client.get(
                f"{self._node_url(cam.camera_id)}/internal/keyframe/{cam.camera_id}/{cam.stream}"
            )
        except httpx.HTTPError:
            return []  # the stream monitor reports unreachable media processes
        if res.status_code != 200:
            return []  # no picture: the camera is offline, which the stream monitor reports
        dts = int(res.headers.get("X-Keyframe-Dts-90k", "-1"))
        if dts == cam.last_dts:
            return self._current(cam)
        cam.last_dts = dts
        split = int(res.headers.get("X-Init-Bytes", "0"))
        picture = cam.decoder.decode(res.content[:split], res.content[split:])
        ref = cam.checker.reference
        if ref is not None and ref.shape != picture.shape:
            # The stream's resolution changed (or the reference predates the
            # block-averaged check picture): the old one cannot be compared.
            log.info(
                "camera %d: check picture %s, reference %s: new reference",
                cam.camera_id,
                picture.shape,
                ref.shape,
            )
            cam.checker.reference = None
        if cam.checker.reference is None:
            cam.checker.set_reference(picture)
            cam.reference_at = self.clock.now()
            self.refs_dir.mkdir(parents=True, exist_ok=True)
            np.save(reference_path(self.settings.data_dir, cam.camera_id), picture)
        verdict = cam.checker.observe(picture, now_s)
        cam.findings = verdict.findings
        return self._current(cam)

    def _current(self, cam: _Camera) -> list[Condition]:
        found = cam.findings
        return [
            Condition(
                "camera",
                str(cam.camera_id),
                kind,
                SEVERITY[kind],
                t(f"continuity.cond.{kind}", camera=cam.name),
            )
            for kind in CHECK_KINDS
            if kind in found
        ]

    def round(self, client: httpx.Client, now_s: float) -> list[Condition]:
        with self.sessions() as db:
            if not self._restored:
                self.engine.restore(c for c in alarms.open_conditions(db) if c.kind in CHECK_KINDS)
                self._restored = True
            if now_s - self._loaded_s >= RELOAD_EVERY_S:
                self.reload(db)
                self._loaded_s = now_s
            conditions: list[Condition] = []
            for cam in list(self.cameras.values()):
                if now_s - cam.last_fetch_s < 1.0:  # at most one keyframe per second
                    conditions += self._current(cam)
                    continue
                cam.last_fetch_s = now_s
                try:
                    conditions += self.check_one(client, cam, now_s)
                except (ValueError, OSError) as exc:
                    log.warning("camera %d: keyframe not checked: %s", cam.camera_id, exc)
            transitions = self.engine.update(now_s, conditions)
            if transitions:
                alarms.apply(db, now=self.clock.now(), transitions=transitions)
                db.commit()
        return conditions

    def run_forever(self, interval_s: float = 1.0) -> None:
        headers = {"Authorization": f"Bearer {internal_api_token(self.settings.secret_key)}"}
        with httpx.Client(timeout=2.0, headers=headers) as client:
            while True:
                t0 = self.clock.monotonic()
                try:
                    self.round(client, t0)
                except Exception:
                    log.exception("image-check round failed")
                self.clock.sleep(interval_s - (self.clock.monotonic() - t0))
