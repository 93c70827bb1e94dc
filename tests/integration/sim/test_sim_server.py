"""The simulator against a real RTSP client (PyAV/FFmpeg over TCP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import av
import pytest

from vigie.sim.clips import ClipSpec
from vigie.sim.runner import SimCamera, SimServer

pytestmark = pytest.mark.integration

OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}


def small(label: str, **kwargs: object) -> ClipSpec:
    # 2 s loops, so every ~3 s read crosses at least one loop restart.
    defaults: dict[str, object] = {
        "width": 320,
        "height": 180,
        "fps": 25,
        "gop_frames": 25,
        "bitrate_kbps": 300,
        "duration_s": 2,
        "preset": "ultrafast",
    }
    defaults.update(kwargs)
    return ClipSpec(label=label, **defaults)  # type: ignore[arg-type]


CAMERAS = [
    SimCamera(
        id=1,
        name="Lille 01",
        main=small("Lille 01", gop_frames=25),
        sub=small("Lille 01 sub", width=160, height=90, gop_frames=10),
    ),
    SimCamera(id=2, name="Roubaix 02", main=small("Roubaix 02", codec="hevc", gop_frames=10)),
    SimCamera(
        id=3,
        name="Tourcoing 03",
        main=small("Tourcoing 03"),
        main_alternate=small("Tourcoing 03 HD", width=640, height=360),
        switch_every_s=2,
    ),
]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    with SimServer(CAMERAS, port=0, cache_dir=tmp_path_factory.mktemp("clips")) as server:
        yield server


@dataclass
class Capture:
    codec: str
    width: int
    height: int
    time_base: Fraction
    dts: list[int] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)  # packet indices
    wall_s: list[float] = field(default_factory=list)  # arrival, from the first packet

    def wall_fps(self) -> float:
        """Arrival rate, leaving out what the client buffered while probing."""
        k = next(i for i, t in enumerate(self.wall_s) if t > 0.3)
        return (len(self.wall_s) - 1 - k) / (self.wall_s[-1] - self.wall_s[k])


def capture(url: str, seconds: float) -> Capture:
    with av.open(url, options=OPTIONS) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        assert stream.time_base is not None
        cap = Capture(ctx.name, ctx.width, ctx.height, stream.time_base)
        started: float | None = None
        for packet in container.demux(stream):
            if packet.size == 0 or packet.dts is None:
                continue
            now = time.monotonic()
            if started is None:
                started = now
            if packet.is_keyframe:
                cap.keyframes.append(len(cap.dts))
            cap.dts.append(packet.dts)
            cap.wall_s.append(now - started)
            if cap.wall_s[-1] >= seconds:
                break
    return cap


@pytest.mark.parametrize(
    ("camera_id", "stream", "codec", "size", "gop"),
    [
        (1, "main", "h264", (320, 180), 25),
        (1, "sub", "h264", (160, 90), 10),
        (2, "main", "hevc", (320, 180), 10),
    ],
)
def test_stream_is_a_regular_live_camera(
    sim: SimServer, camera_id: int, stream: str, codec: str, size: tuple[int, int], gop: int
) -> None:
    cap = capture(sim.url(camera_id, stream), seconds=3.0)  # type: ignore[arg-type]

    assert cap.codec == codec
    assert (cap.width, cap.height) == size
    # DTS strictly increasing, across at least one loop restart (2 s clips).
    assert all(b > a for a, b in zip(cap.dts, cap.dts[1:], strict=False))
    span_s = float((cap.dts[-1] - cap.dts[0]) * cap.time_base)
    assert span_s > 2.5
    fps_by_dts = (len(cap.dts) - 1) / span_s
    assert fps_by_dts == pytest.approx(25, rel=0.05)
    # Paced at real time, not pushed as fast as possible.
    assert cap.wall_fps() == pytest.approx(25, rel=0.15)
    # Keyframes exactly every GOP, loop restarts included.
    assert len(cap.keyframes) >= 2
    assert {b - a for a, b in zip(cap.keyframes, cap.keyframes[1:], strict=False)} == {gop}


def test_two_clients_share_one_mount(sim: SimServer) -> None:
    url = sim.url(1, "main")
    with av.open(url, options=OPTIONS) as a, av.open(url, options=OPTIONS) as b:
        counts = []
        for container in (a, b):
            n = 0
            for packet in container.demux(container.streams.video[0]):
                n += packet.size > 0
                if n >= 25:
                    break
            counts.append(n)
        assert counts == [25, 25]


def test_main_stream_alternates_resolution(sim: SimServer) -> None:
    sizes: list[tuple[int, int]] = []
    with av.open(sim.url(3, "main"), options=OPTIONS) as container:
        started = time.monotonic()
        for frame in container.decode(video=0):
            size = (frame.width, frame.height)
            if not sizes or sizes[-1] != size:
                sizes.append(size)
            if len(sizes) >= 3 or time.monotonic() - started > 8:
                break
    assert set(sizes) == {(320, 180), (640, 360)}
    assert len(sizes) >= 2


def test_kill_then_restart_on_the_same_port(sim: SimServer) -> None:
    port = sim.port
    url = sim.url(2, "main")
    sim.kill()
    assert not sim.running
    with pytest.raises(av.error.FFmpegError):
        av.open(url, options=OPTIONS)

    sim.restart()
    assert sim.port == port
    cap = capture(url, seconds=1.0)
    assert cap.codec == "hevc"
    assert len(cap.dts) >= 20
