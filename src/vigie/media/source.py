"""Where packets come from: a small protocol (for test injection) and the real
implementation over PyAV / FFmpeg's RTSP client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import av

RTSP_TIMEOUT_US = 4_000_000  # FFmpeg's own socket timeout; never PyAV's timeout= (CPU x3)


@dataclass(slots=True)
class RawPacket:
    data: bytes
    pts_90k: int | None
    dts_90k: int | None
    is_keyframe: bool


class PacketSource(Protocol):
    codec: str  # FFmpeg codec name: "h264", "hevc", ...
    extradata: bytes | None
    width: int
    height: int

    def packets(self) -> Iterator[RawPacket]: ...

    def close(self) -> None: ...


class Opener(Protocol):
    def open(self, url: str) -> PacketSource: ...


def _to_90k(value: int | None, time_base: Fraction) -> int | None:
    if value is None:
        return None
    if time_base == Fraction(1, 90000):
        return value
    return int(value * time_base * 90000)


class AvPacketSource:
    def __init__(self, container: Any) -> None:
        self._container = container
        streams = container.streams.video
        if not streams:
            container.close()
            raise av.error.InvalidDataError(0, "no video stream")
        self._stream = streams[0]
        ctx = self._stream.codec_context
        self.codec: str = ctx.name
        self.extradata: bytes | None = bytes(ctx.extradata) if ctx.extradata else None
        self.width: int = ctx.width or 0
        self.height: int = ctx.height or 0
        self._time_base = self._stream.time_base or Fraction(1, 90000)

    def packets(self) -> Iterator[RawPacket]:
        tb = self._time_base
        native_90k = tb == Fraction(1, 90000)  # RTSP video: no rescaling per packet
        for packet in self._container.demux(self._stream):
            if packet.size == 0:
                continue
            if native_90k:
                yield RawPacket(bytes(packet), packet.pts, packet.dts, packet.is_keyframe)
            else:
                yield RawPacket(
                    bytes(packet),
                    _to_90k(packet.pts, tb),
                    _to_90k(packet.dts, tb),
                    packet.is_keyframe,
                )

    def close(self) -> None:
        self._container.close()


class AvOpener:
    """FFmpeg's RTSP client over TCP, with FFmpeg's own I/O timeout."""

    def __init__(self, *, timeout_us: int = RTSP_TIMEOUT_US) -> None:
        self._options = {
            "rtsp_transport": "tcp",
            "timeout": str(timeout_us),
            "analyzeduration": "1000000",
            "probesize": "1000000",
            "fflags": "nobuffer",
        }

    def open(self, url: str) -> PacketSource:
        options = dict(self._options)
        if not url.startswith(("rtsp://", "rtsps://")):
            options.pop("rtsp_transport")
            options.pop("timeout")
        container = av.open(url, options=options)
        return AvPacketSource(container)
