"""Where packets come from: a small protocol (for test injection) and the real
implementation over FFmpeg's libavformat (RTSP over TCP), read by the C
extension ``vigie.media._fastpath`` without the GIL.

``frames(source, fragmenter)`` is the one loop body every source goes through:
the C reader packs each H.264/H.265 access unit into its fMP4 fragment while
the GIL is released; other sources (tests) yield ``RawPacket`` objects that the
same packer turns into the same fragments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from vigie.base.clock import Clock, RealClock
from vigie.media import h264
from vigie.media._fastpath import Reader
from vigie.media.fragmenter import H264Fragmenter
from vigie.media.rtsp import Frame, RtspSession, UnsupportedTrack

RTSP_TIMEOUT_US = 4_000_000  # FFmpeg's own socket timeout; never PyAV's timeout= (CPU x3)


@dataclass(slots=True)
class RawPacket:
    data: bytes
    pts_90k: int | None
    dts_90k: int | None
    is_keyframe: bool


class PacketSource(Protocol):
    """A connection to a camera. Real sources also have ``frames(fragmenter)``
    (packed in C) and ``interrupt()``; test sources only ``packets()``."""

    codec: str  # FFmpeg codec name: "h264", "hevc", ...
    extradata: bytes | None
    width: int
    height: int

    def packets(self) -> Iterator[RawPacket]: ...

    def close(self) -> None: ...


class Opener(Protocol):
    def open(self, url: str) -> PacketSource: ...


def frames(
    source: PacketSource, fragmenter: H264Fragmenter | None, mono: Callable[[], float]
) -> Iterator[Frame]:
    """Every packet of ``source``, packed by ``fragmenter`` when there is one."""
    if isinstance(source, (FfmpegSource, RtspSource)):
        yield from source.frames(fragmenter)
        return
    for pkt in source.packets():
        now = mono()
        if fragmenter is None:
            yield len(pkt.data), now, pkt.is_keyframe, None, None
        else:
            init, frag = fragmenter.push(pkt.data, pts=pkt.pts_90k, dts=pkt.dts_90k, read_mono=now)
            yield len(pkt.data), now, frag is not None and frag.is_key, init, frag


class FfmpegSource:
    """One connection to a camera through libavformat (C, GIL released)."""

    def __init__(self, reader: Reader, url: str, options: dict[str, str]) -> None:
        self._reader = reader
        self.codec, self.extradata, self.width, self.height = reader.open(url, options)

    def packets(self) -> Iterator[RawPacket]:
        read = self._reader.read
        while True:
            _, _, (data, pts, dts, key) = read()
            yield RawPacket(data, pts, dts, key)

    def frames(self, fragmenter: H264Fragmenter | None) -> Iterator[Frame]:
        read = self._reader.read
        if fragmenter is None:
            while True:
                size, now, (_, _, _, key) = read()
                yield size, now, key, None, None
        packer = fragmenter.packer
        finish = fragmenter.finish
        while True:
            size, now, (params, frag) = read(packer)
            init, fragment = finish(params, frag, now)
            yield size, now, fragment is not None and fragment.is_key, init, fragment

    def interrupt(self) -> None:
        self._reader.interrupt()

    def close(self) -> None:
        self._reader.close()


class RtspSource:
    """An RTSP camera with H.264/H.265 video: our client, RTP read in C."""

    def __init__(self, session: RtspSession) -> None:
        self._session = session
        track = session.start()
        self.codec = track.codec
        self.extradata = track.extradata
        self.width = self.height = 0
        if track.codec == "h264":
            for nal in track.parameter_sets:
                if h264.nal_type(nal) == h264.NAL_SPS:
                    try:
                        info = h264.parse_sps(nal)
                    except ValueError:
                        break  # the in-band one will be checked again
                    self.width, self.height = info.width, info.height

    def packets(self) -> Iterator[RawPacket]:
        raise TypeError("RTP is only read packed: use frames()")

    def frames(self, fragmenter: H264Fragmenter | None) -> Iterator[Frame]:
        return self._session.frames(fragmenter)

    def counters(self) -> dict[str, int | float | None]:
        return self._session.counters()

    def interrupt(self) -> None:
        self._session.interrupt()

    def close(self) -> None:
        self._session.close()


class CameraOpener:
    """Cameras: ``rtsp://`` with H.264/H.265 through our RTSP client (RTP read in
    C); anything else through FFmpeg's libavformat, with its own I/O timeout."""

    def __init__(self, *, timeout_us: int = RTSP_TIMEOUT_US, clock: Clock | None = None) -> None:
        self._clock = clock or RealClock()
        self._timeout_s = timeout_us / 1e6
        self._options = {
            "rtsp_transport": "tcp",
            "timeout": str(timeout_us),
            "analyzeduration": "1000000",
            "probesize": "1000000",
            "fflags": "nobuffer",
        }

    def open(self, url: str) -> PacketSource:
        if url.startswith("rtsp://"):
            session = RtspSession(url, timeout_s=self._timeout_s, clock=self._clock)
            try:
                return RtspSource(session)
            except UnsupportedTrack:
                session.close()  # e.g. MJPEG: libavformat knows more formats
            except BaseException:
                session.close()
                raise
        return FfmpegSource(Reader(), url, self.options_for(url))

    def options_for(self, url: str) -> dict[str, str]:
        options = dict(self._options)
        if not url.startswith(("rtsp://", "rtsps://")):
            options.pop("rtsp_transport")
            options.pop("timeout")
        return options
