"""An export read by GStreamer's qtdemux, an MP4 demuxer that shares no code
with FFmpeg's (ffprobe, PyAV and Chromium's progressive playback all use
FFmpeg's): it stands in for the players that parse MP4 themselves, such as
VLC and Windows' player. Frames decode, the gap keeps its length, the French
subtitles and the metadata come through."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.unit.recording.helpers import make_camera, record
from vigie.recording import index, manifest
from vigie.recording.export import export_range

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
PROBE = Path(__file__).with_name("gst_probe.py")


def test_export_read_by_gstreamer(db_session: Session, tmp_path: Path) -> None:
    root = tmp_path / "rec"
    cam = make_camera(db_session, name="Grand Place")
    record(root, cam.id, T0, 4)
    record(root, cam.id, T0 + timedelta(seconds=8), 3)  # a 4 s gap
    index.sync(db_session, root, now=T0 + timedelta(minutes=1))
    res = export_range(
        db_session,
        root=root,
        data_dir=tmp_path,
        out_dir=tmp_path / "export",
        camera_id=cam.id,
        start=T0,
        end=T0 + timedelta(seconds=11),
        now=T0 + timedelta(hours=1),
        operator="alice",
        operator_account_id=None,
        recipient="OPJ Martin",
        service="Commissariat de Lille",
        reason="PV 2026/77",
    )
    assert manifest.verify(res.directory).ok
    run = subprocess.run(
        ["/usr/bin/python3", str(PROBE), str(res.video)],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    got = json.loads(run.stdout)
    assert got["errors"] == []
    assert got["frames"] == res.frames == 7 * 25
    assert got["duration_s"] == pytest.approx(11.0, abs=0.05)
    pts = got["video_pts_s"]
    assert pts[0] == pytest.approx(0.0, abs=0.001)
    assert pts[100] - pts[99] == pytest.approx(4.04, abs=0.01)  # the gap, not squeezed
    subs = got["subtitles"]
    assert len(subs) == 11
    assert [round(at) for at, _ in subs] == list(range(11))
    # 20:00 UTC on 26 November is 21:00 in Paris (UTC+1)
    assert subs[0][1].startswith("26/11/2026 21:00:00 (heure de Paris, UTC+0100) — Grand Place")
    assert subs[10][1].startswith("26/11/2026 21:00:10 ")
    tags = got["tags"]
    assert tags["title"].startswith("Vigie — Grand Place")
    assert "Caméra" in tags["comment"] and tags["language-code"] == "fr"
    assert tags["datetime"].startswith("2026-11-26T20:00:00")
