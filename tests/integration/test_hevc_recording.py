"""An H.265 camera through the whole chain: simulator (RTSP, libx265) → media
process → segment files → index → playback WebSocket. Live stays refused with
its clear message; the recording plays with an independent decoder; the
snapshot (decoded on the server) works."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
from sqlalchemy import select
from websockets.sync.client import connect

from tests.integration.stack import OPERATOR, running_stack, small_camera
from vigie.media import hevc
from vigie.media.fmp4 import iter_boxes
from vigie.recording.models import RecordingSegment
from vigie.storage.db import make_engine, make_sessionmaker, session_scope

NAME = "Halle H265"


def _status(cams: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(cams[NAME]["status"]["main"])


def test_h265_camera_is_recorded_indexed_and_replayed(tmp_path: Path) -> None:
    with running_stack(tmp_path, [small_camera(1, NAME, codec="hevc")]) as stack:
        client = stack.client(OPERATOR)
        stack.wait_for(client, lambda c: _status(c)["state"] == "online", 30, "online")
        st = _status(stack.cameras(client))
        assert st["codec"] == "hevc" and st["live_playable"] is False
        assert "H.265" in st["message"]  # live: the browser cannot show it, said clearly
        cam_id = stack.cameras(client)[NAME]["id"]
        started = datetime.now(UTC)
        time.sleep(5)
        root = tmp_path / "vigie" / "recordings"
        engine = make_engine(f"sqlite:///{tmp_path / 'vigie' / 'vigie.db'}")
        factory = make_sessionmaker(engine)
        deadline = time.monotonic() + 20
        while True:  # the control plane's indexer catches up within its period
            with session_scope(factory) as db:
                segs = list(
                    db.scalars(select(RecordingSegment).where(RecordingSegment.camera_id == cam_id))
                )
                if segs and segs[0].frames >= 50:
                    break
            assert time.monotonic() < deadline, f"not indexed: {segs}\n{stack.log()[-3000:]}"
            time.sleep(0.5)
        (seg,) = segs
        assert seg.start_utc.replace(tzinfo=UTC) - started < timedelta(seconds=5)
        path = root / seg.path
        data = path.read_bytes()
        assert [k for k, _, _ in iter_boxes(data)][:3] == [b"ftyp", b"moov", b"moof"]
        with av.open(str(path)) as c:
            ctx = c.streams.video[0].codec_context
            assert (ctx.name, ctx.width, ctx.height) == ("hevc", 640, 360)
            decoded = sum(1 for _ in c.decode(video=0))
        assert decoded >= seg.frames - 1  # the file grew since it was indexed
        # Playback: the page is given the codec and an hvc1 type to test in the browser.
        r = client.post(
            f"/api/cameras/{cam_id}/playback",
            json={"start": seg.start_utc.isoformat(), "reason": "vérification d'un signalement"},
        )
        assert r.status_code == 200, r.text
        with connect(r.json()["url"], max_size=None) as ws:
            init = json.loads(ws.recv(timeout=5))
            assert init["type"] == "init" and init["codec"] == "hevc"
            record = data[data.index(b"hvcC") + 4 :]
            assert init["mime"] == f'video/mp4; codecs="{hevc.codec_string(record)}"'
            assert init["mime"].startswith('video/mp4; codecs="hvc1.1.6.L')
            assert ws.recv(timeout=5) == data[: seg.init_bytes]
        # The snapshot is decoded on the server: it works for H.265 too.
        ticket = client.post(
            f"/api/cameras/{cam_id}/tickets", json={"stream": "main", "purpose": "snapshot"}
        ).json()
        jpeg = httpx.get(ticket["url"], timeout=10)
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8", jpeg.text[:200]
        engine.dispose()
        client.close()
