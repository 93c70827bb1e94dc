"""Recording through the whole chain: simulator → media process → files → index.

The media process is killed with SIGKILL; what it recorded up to one second
before the kill must be indexed and playable, and recording must resume.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select

from tests.integration.stack import OPERATOR, media_children, running_stack, small_camera
from vigie.recording import index
from vigie.recording.models import RecordingSegment
from vigie.storage.db import make_engine, make_sessionmaker, session_scope


def _status(cams: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(cams[name]["status"]["main"])


def test_sigkill_loses_at_most_one_second(tmp_path: Path) -> None:
    with running_stack(tmp_path, [small_camera(1, "Beffroi")]) as stack:
        client = stack.client(OPERATOR)
        stack.wait_for(client, lambda c: _status(c, "Beffroi")["state"] == "online", 30, "online")
        cam_id = stack.cameras(client)["Beffroi"]["id"]
        time.sleep(6)
        media = media_children(stack.proc)
        assert media
        killed_at = datetime.now(UTC)
        os.kill(media[0], signal.SIGKILL)
        stack.wait_for(client, lambda c: _status(c, "Beffroi")["state"] != "online", 15, "down")
        stack.wait_for(client, lambda c: _status(c, "Beffroi")["state"] == "online", 30, "back")
        time.sleep(3)
        root = tmp_path / "vigie" / "recordings"
        engine = make_engine(f"sqlite:///{tmp_path / 'vigie' / 'vigie.db'}")
        factory = make_sessionmaker(engine)
        deadline = time.monotonic() + 20
        while True:  # the control plane's indexer thread catches up within its period
            with session_scope(factory) as db:
                segs = list(
                    db.scalars(
                        select(RecordingSegment)
                        .where(RecordingSegment.camera_id == cam_id)
                        .order_by(RecordingSegment.start_utc)
                    )
                )
                if len(segs) >= 2 and segs[-1].start_utc > killed_at:
                    break
            assert time.monotonic() < deadline, f"not indexed: {segs}\n{stack.log()[-3000:]}"
            time.sleep(0.5)
        first = segs[0].start_utc
        before = [s for s in segs if s.start_utc < killed_at]
        assert killed_at - first > timedelta(seconds=5)
        with session_scope(factory) as db:
            tl = index.timeline(db, cam_id, first, killed_at - timedelta(seconds=1))
            assert tl.gaps == [], (tl, killed_at)
            assert index.check(db, root, now=datetime.now(UTC)) == [] or all(
                p.kind == "truncated" for p in index.check(db, root, now=datetime.now(UTC))
            )
        # the last segment before the kill plays up to its indexed end
        last = before[-1]
        with av.open(str(root / last.path)) as c:
            n = sum(1 for _ in c.decode(video=0))
        assert n >= last.frames - 1
        assert last.end_utc >= killed_at - timedelta(seconds=1)
        engine.dispose()
        client.close()
