from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tests.unit.media.test_fragmenter import access_units
from vigie.base.clock import SimulatedClock
from vigie.media.fragmenter import H264Fragmenter
from vigie.media.recorder import StreamRecorder
from vigie.storage.models import Camera


def make_camera(db: Session, name: str = "Place", commune: str = "59350") -> Camera:
    cam = Camera(
        name=name, commune_insee=commune, main_url="rtsp://127.0.0.1/x", lat=50.63, lon=3.06
    )
    db.add(cam)
    db.flush()
    return cam


def record(
    root: Path, camera_id: int, start: datetime, seconds: float, roll_s: float = 4.0
) -> None:
    """Record ``seconds`` of the 25 fps fixture as if it began at ``start``."""
    clock = SimulatedClock(start)
    rec = StreamRecorder(root, camera_id, clock=clock, roll_s=roll_s)
    aus = access_units()
    frag = H264Fragmenter()
    for i in range(int(seconds * 25)):
        data, _, _ = aus[i % len(aus)]
        init, f = frag.push(data, pts=i * 3600, dts=i * 3600, read_mono=0.0)
        if init is not None:
            rec.on_init("x", init)
        if f is not None:
            rec.on_fragment("x", f)
        clock.advance(0.04)
    rec.stop()
