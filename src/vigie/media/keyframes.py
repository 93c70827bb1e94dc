"""Decode keyframes to small grey pictures for the image checks.

Runs in the checks process only (never in ingest threads nor on a loop):
the decoder skips every non-key frame and the picture is scaled down by
FFmpeg's swscale before numpy sees it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from vigie.domain.imagecheck import Grey

CHECK_WIDTH, CHECK_HEIGHT = 160, 120


def _to_grey(frame: av.VideoFrame) -> Grey:
    small = frame.reformat(width=CHECK_WIDTH, height=CHECK_HEIGHT, format="gray")
    plane = small.to_ndarray()
    return np.ascontiguousarray(plane, dtype=np.float32)


def decode_keyframe(data: bytes) -> Grey:
    """Decode the first picture of a small fMP4 (init + one keyframe fragment)."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
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
