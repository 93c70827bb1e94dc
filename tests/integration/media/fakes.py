"""A camera made of a file, for tests that exercise the media server itself.

It sits behind the same ``Opener`` protocol as FFmpeg's RTSP client and plays
a real H.264 clip at real time; integration tests against real RTSP servers
live next to it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av

from vigie.media.source import RawPacket

FIXTURE = Path(__file__).parents[2] / "fixtures" / "testsrc_320x240_25fps_gop25_bf2.h264"


def fixture_access_units() -> list[bytes]:
    with av.open(str(FIXTURE)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


class LoopingSource:
    def __init__(self, aus: list[bytes], codec: str = "h264", fps: float = 25.0) -> None:
        self.codec = codec
        self.extradata: bytes | None = None
        self.width = 320
        self.height = 240
        self._aus = aus
        self._fps = fps
        self._closed = False

    def packets(self) -> Iterator[RawPacket]:
        step = 90000 // int(self._fps)
        n = 0
        start = time.monotonic()
        while not self._closed:
            au = self._aus[n % len(self._aus)]
            yield RawPacket(au, n * step, n * step, n % 25 == 0)
            n += 1
            delay = start + n / self._fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self) -> None:
        self._closed = True


class FakeOpener:
    """``rtsp://fake/ok`` plays the clip; ``/hevc`` claims H.265; ``/refuse`` refuses."""

    def __init__(self) -> None:
        self.aus = fixture_access_units()
        self.opened: list[str] = []

    def open(self, url: str) -> LoopingSource:
        self.opened.append(url)
        if url.endswith("/refuse"):
            raise ConnectionRefusedError(111, "Connection refused")
        if url.endswith("/hevc"):
            return LoopingSource(self.aus, codec="hevc")
        return LoopingSource(self.aus)
