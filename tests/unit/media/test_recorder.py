from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from tests.unit.media.test_fragmenter import access_units
from vigie.base.clock import SimulatedClock
from vigie.media.fragmenter import H264Fragmenter, HevcFragmenter
from vigie.media.recfile import scan, scan_bytes
from vigie.media.recorder import StreamRecorder


def feed(rec: StreamRecorder, clock: SimulatedClock, frames: int) -> None:
    aus = access_units()
    frag = H264Fragmenter()
    for i in range(frames):
        data, _, _ = aus[i % len(aus)]
        init, f = frag.push(data, pts=i * 3600, dts=i * 3600, read_mono=0.0)
        if init is not None:
            rec.on_init("1/main", init)
        if f is not None:
            rec.on_fragment("1/main", f)
        clock.advance(0.04)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime.fromtimestamp(1_780_000_000, UTC))


def test_segments_roll_at_keyframes_and_play_alone(tmp_path: Path, clock: SimulatedClock) -> None:
    aus = access_units()
    rec = StreamRecorder(tmp_path, 1, clock=clock, roll_s=4.0)
    feed(rec, clock, len(aus) * 5)  # ~10 s
    rec.stop()
    files = sorted((tmp_path / "1").iterdir())
    assert len(files) >= 2
    total_frames = 0
    for path in files:
        info = scan(path)
        assert not info.truncated
        assert info.keyframes and info.keyframes[0] == (0, info.init_bytes)
        total_frames += info.frames
        with av.open(str(path)) as c:  # each segment plays on its own
            decoded = sum(1 for _ in c.decode(video=0))
        assert decoded == info.frames
    assert total_frames == len(aus) * 5
    assert rec.snapshot()["bytes_written"] == sum(p.stat().st_size for p in files)


def test_unflushed_tail_is_at_most_flush_interval(tmp_path: Path, clock: SimulatedClock) -> None:
    rec = StreamRecorder(tmp_path, 1, clock=clock)
    feed(rec, clock, 100)  # 4 s, not stopped: what is on disk is what a kill -9 leaves
    (path,) = (tmp_path / "1").iterdir()
    info = scan(path)
    assert info.frames >= 100 - 13  # FLUSH_S = 0.5 s = 12.5 frames at 25 fps
    assert info.duration_ms >= 4000 - 1000


def test_truncated_file_keeps_complete_fragments(tmp_path: Path, clock: SimulatedClock) -> None:
    rec = StreamRecorder(tmp_path, 1, clock=clock)
    feed(rec, clock, 50)
    rec.stop()
    (path,) = (tmp_path / "1").iterdir()
    data = path.read_bytes()
    full = scan_bytes(data, 0)
    cut = scan_bytes(data[:-100], 0)
    assert cut.truncated and cut.frames == full.frames - 1
    assert cut.valid_bytes < cut.file_bytes


def test_disk_faults_are_reported_not_raised(tmp_path: Path, clock: SimulatedClock) -> None:
    blocker = tmp_path / "root"
    blocker.write_bytes(b"not a directory")
    rec = StreamRecorder(blocker, 1, clock=clock)
    feed(rec, clock, 30)
    snap = rec.snapshot()
    assert snap["state"] == "error"
    assert snap["last_error"] and "Enregistrement arrêté" in str(snap["last_error"])
    # the fault clears: recording resumes after the retry delay
    blocker.unlink()
    clock.advance(10)
    feed(rec, clock, 30)
    assert rec.snapshot()["state"] == "recording"
    assert any((blocker / "1").iterdir())


def test_other_codecs_are_reported_unsupported(tmp_path: Path, clock: SimulatedClock) -> None:
    rec = StreamRecorder(tmp_path, 1, clock=clock)
    rec.on_codec("1/main", "mjpeg")
    assert rec.snapshot()["state"] == "unsupported"
    assert "MJPEG" in str(rec.snapshot()["last_error"])
    assert "H.265" in str(rec.snapshot()["last_error"])
    rec.on_codec("1/main", "h264")  # the camera is switched to a recorded codec
    assert rec.snapshot()["state"] == "waiting" and rec.snapshot()["last_error"] is None
    feed(rec, clock, 30)
    assert rec.snapshot()["state"] == "recording"


def test_h265_is_recorded_in_segments_that_play(tmp_path: Path, clock: SimulatedClock) -> None:
    from tests.unit.media.test_hevc import FRAMES, HEIGHT, WIDTH, hevc_annexb_clip

    packets = hevc_annexb_clip(tmp_path / "clip.mp4")
    rec = StreamRecorder(tmp_path / "rec", 1, clock=clock)
    rec.on_codec("1/main", "hevc")
    frag = HevcFragmenter()
    for data, pts, dts, _ in packets:
        init, f = frag.push(data, pts=pts, dts=dts, read_mono=0.0)
        if init is not None:
            rec.on_init("1/main", init)
        if f is not None:
            rec.on_fragment("1/main", f)
        clock.advance(0.04)
    rec.stop()
    assert rec.snapshot()["state"] == "stopped" and rec.snapshot()["error_code"] is None
    (path,) = (tmp_path / "rec" / "1").iterdir()
    info = scan(path)
    assert info.frames == FRAMES and not info.truncated
    assert len(info.keyframes) == FRAMES // 10
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.name, ctx.width, ctx.height) == ("hevc", WIDTH, HEIGHT)
        assert sum(1 for _ in c.decode(video=0)) == FRAMES


def test_disabled_for_quota_stops_writing_and_resumes(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    rec = StreamRecorder(tmp_path, 1, clock=clock)
    feed(rec, clock, 30)
    rec.set_enabled(False)
    written = rec.snapshot()["bytes_written"]
    assert rec.snapshot()["state"] == "disabled"
    assert "quota" in str(rec.snapshot()["last_error"])
    feed(rec, clock, 60)
    assert rec.snapshot()["bytes_written"] == written
    rec.set_enabled(True)
    feed(rec, clock, 60)
    assert rec.snapshot()["state"] == "recording"
    assert len(list((tmp_path / "1").iterdir())) == 2
