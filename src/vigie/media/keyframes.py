"""Decode keyframes to small grey pictures for the image checks.

Runs in the checks process only (never in ingest threads nor on a loop):
the decoder skips every non-key frame. The check picture is the decoder's
luma plane read in place (no copy, no colour conversion) and averaged over
``k×k`` blocks, ``k`` the integer factor that brings the picture to about
80×60: 640×360 gives 106×60, 1920×1080 gives 106×60, CIF 88×72.
Block averaging is what the checks want (it averages sensor noise out)
and costs a fraction of a swscale resize.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from vigie.domain.imagecheck import Grey
from vigie.media import _fastpath
from vigie.media.fmp4 import iter_boxes

CHECK_WIDTH, CHECK_HEIGHT = 80, 60
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
# Pixel formats whose first plane is the 8-bit luma, one byte a pixel.
_LUMA8 = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
)


def block_factor(width: int, height: int) -> int:
    """The largest ``k`` keeping at least 80×60 after ``k×k`` averaging."""
    return max(1, min(width // CHECK_WIDTH, height // CHECK_HEIGHT))


def luma_blocks(luma: npt.NDArray[np.uint8], k: int, *, limited_range: bool = False) -> Grey:
    """Average ``k×k`` blocks of an 8-bit plane (any row stride) to float32.

    In C (``_fastpath.luma_blocks``): each source byte read once, sums in
    integers, one pass; numpy needed several passes over the plane, just after
    the decoder had pushed it out of the cache. A limited-range luma (16–235,
    the usual camera stream) is stretched to 0–255 like a grey conversion
    would, so the thresholds mean the same for every camera; values are not
    clipped.
    """
    data = _fastpath.luma_blocks(luma, k, limited_range)
    out: Grey = np.frombuffer(data, np.float32).reshape(luma.shape[0] // k, luma.shape[1] // k)
    return out


def _to_grey(frame: av.VideoFrame) -> Grey:
    fmt = frame.format.name
    if fmt not in _LUMA8:  # 10-bit and other rare formats
        small = frame.reformat(width=CHECK_WIDTH, height=CHECK_HEIGHT, format="gray")
        return np.ascontiguousarray(small.to_ndarray(), dtype=np.float32)
    plane = frame.planes[0]
    luma = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    limited = fmt != "gray" and not fmt.startswith("yuvj") and frame.color_range != _FULL_RANGE
    return luma_blocks(
        luma[:, : plane.width], block_factor(plane.width, plane.height), limited_range=limited
    )


def decode_keyframe(data: bytes) -> Grey:
    """Decode the first picture of a small fMP4 (init + one keyframe fragment)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        # The picture is reduced to 80×60: deblocking is invisible there and
        # costs about a fifth of the decode.
        stream.codec_context.options = {"skip_loop_filter": "all"}
        for frame in container.decode(stream):
            return _to_grey(frame)
    raise ValueError("no picture in the keyframe fragment")


def iter_keyframes(path: Path) -> Iterator[tuple[float, Grey]]:
    """(seconds from start, grey picture) for every keyframe of a file."""
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            at_s = float(frame.time) if frame.time is not None else 0.0
            yield at_s, _to_grey(frame)


class KeyframeDecoder:
    """One long-lived H.264 decoder per camera for the checks process.

    Opening a container per keyframe makes FFmpeg probe the stream (it
    decodes to find parameters): twice the work. Instead the decoder is
    built once from the init segment's ``avcC`` (rebuilt when the init
    changes) and each live fragment's single sample is fed to it directly.
    Other codecs fall back to ``decode_keyframe``.
    """

    def __init__(self) -> None:
        self._init: bytes | None = None
        self._ctx: av.VideoCodecContext | None = None

    def _context(self, init: bytes) -> av.VideoCodecContext | None:
        if init != self._init:
            self._init = init
            self._ctx = None
            at = init.find(b"avcC")
            if at >= 4:
                size = int.from_bytes(init[at - 4 : at], "big")
                self._ctx = self.for_codec("h264", init[at + 4 : at - 4 + size])
        return self._ctx

    @staticmethod
    def for_codec(codec: str, extradata: bytes) -> av.VideoCodecContext:
        ctx = av.CodecContext.create(codec, "r")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.extradata = extradata
        ctx.thread_count = 1  # one small picture a second: threads only cost
        ctx.options = {"skip_loop_filter": "all"}
        return ctx

    @staticmethod
    def decode_sample(ctx: av.VideoCodecContext, sample: bytes) -> Grey:
        frames = ctx.decode(av.Packet(sample))
        if not frames:  # a decoder with delay: drain it
            frames = ctx.decode(None)
            ctx.flush_buffers()
        if not frames:
            raise ValueError("the keyframe did not decode to a picture")
        return _to_grey(frames[-1])

    def decode(self, init: bytes, fragment: bytes) -> Grey:
        ctx = self._context(init)
        if ctx is None:
            return decode_keyframe(init + fragment)
        for kind, start, end in iter_boxes(fragment):
            if kind == b"mdat":
                return self.decode_sample(ctx, fragment[start:end])
        raise ValueError("no mdat in the keyframe fragment")
