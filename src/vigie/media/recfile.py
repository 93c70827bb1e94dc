"""Reads back the recording segment files the recorder writes (pure, no database).

A segment file is an fMP4: ``ftyp`` + ``moov`` (init) followed by ``moof``+``mdat``
pairs, one per frame. Its name is the UTC instant of its first frame in
milliseconds since the epoch (``<start_ms>.mp4``), so instants inside it are
``start + (dts - first dts) / 90 kHz``. A file cut short by a crash keeps every
complete fragment; ``scan`` reports where the readable part ends.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from vigie.media.fmp4 import TIMESCALE_90K

SEGMENT_SUFFIX = ".mp4"


@dataclass(slots=True)
class SegmentScan:
    start_ms: int  # UTC epoch milliseconds of the first frame (from the file name)
    init_bytes: int = 0  # ftyp + moov
    valid_bytes: int = 0  # up to the end of the last complete fragment
    file_bytes: int = 0
    frames: int = 0
    duration_ms: int = 0
    # (ms from segment start, byte offset of the moof) for each keyframe
    keyframes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.valid_bytes < self.file_bytes

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


def segment_name(start_ms: int) -> str:
    return f"{start_ms}{SEGMENT_SUFFIX}"


def start_ms_of(path: Path) -> int | None:
    stem = path.name[: -len(SEGMENT_SUFFIX)] if path.name.endswith(SEGMENT_SUFFIX) else ""
    return int(stem) if stem.isdigit() else None


def scan(path: Path) -> SegmentScan:
    """Index one segment file: keyframes, duration, readable length."""
    start_ms = start_ms_of(path)
    if start_ms is None:
        raise ValueError(f"{path.name}: not a segment file name (<start_ms>.mp4)")
    data = path.read_bytes()
    return scan_bytes(data, start_ms)


def scan_bytes(
    data: bytes, start_ms: int, fragments: list[tuple[int, int, int, bool]] | None = None
) -> SegmentScan:
    """Index ``data``; ``fragments`` (if given) receives (ms, moof offset, end, is_key)."""
    out = SegmentScan(start_ms=start_ms, file_bytes=len(data))
    pos, end = 0, len(data)
    first_dts: int | None = None
    last_end_dts = 0
    moof_at = -1
    moof_info: tuple[int, int, bool] | None = None
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > end:
            break  # truncated or garbage tail: stop at the last complete box
        if kind == b"moov":
            out.init_bytes = out.valid_bytes = pos + size
        elif kind == b"moof":
            moof_at = pos
            moof_info = _parse_moof(data, pos, pos + size)
        elif kind == b"mdat" and moof_info is not None and out.init_bytes:
            dts, duration, is_key = moof_info
            if first_dts is None:
                first_dts = dts
            rel_ms = (dts - first_dts) * 1000 // TIMESCALE_90K
            if is_key:
                out.keyframes.append((rel_ms, moof_at))
            out.frames += 1
            if fragments is not None:
                fragments.append((rel_ms, moof_at, pos + size, is_key))
            last_end_dts = dts + duration
            out.valid_bytes = pos + size
            moof_info = None
        pos += size
    if first_dts is not None:
        out.duration_ms = (last_end_dts - first_dts) * 1000 // TIMESCALE_90K
    return out


def _parse_moof(data: bytes, start: int, end: int) -> tuple[int, int, bool] | None:
    """(base dts, total duration, first sample is sync) of one moof, or None."""
    pos = start + 8
    dts = 0
    duration = 0
    is_key = False
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8:
            return None
        if kind == b"traf":
            pos += 8
            continue  # descend
        if kind == b"tfdt":
            version = data[pos + 8]
            dts = (
                struct.unpack_from(">Q", data, pos + 12)[0]
                if version == 1
                else struct.unpack_from(">I", data, pos + 12)[0]
            )
        elif kind == b"trun":
            flags = struct.unpack_from(">I", data, pos + 8)[0] & 0xFFFFFF
            count = struct.unpack_from(">I", data, pos + 12)[0]
            p = pos + 16
            if flags & 0x1:
                p += 4
            if flags & 0x4:
                p += 4
            per = 4 * bin(flags & 0xF00).count("1")
            for i in range(count):
                q = p + i * per
                if flags & 0x100:
                    duration += struct.unpack_from(">I", data, q)[0]
                    q += 4
                if flags & 0x200:
                    q += 4
                if i == 0 and flags & 0x400:
                    sample_flags = struct.unpack_from(">I", data, q)[0]
                    is_key = not (sample_flags & 0x00010000)
        pos += size
    return dts, duration, is_key


TFDT_VALUE_AT = 60  # in a one-sample moof: moof 8 + mfhd 16 + traf 8 + tfhd 16 + tfdt header 12


DURATION_AT = 88  # trun: box at 68, header 12, count 4, data offset 4


def retime(fragment: bytes, dts_90k: int, duration_90k: int | None = None) -> bytes:
    """A copy of one recorder fragment with its decode time (and duration) replaced."""
    if fragment[4:8] != b"moof" or fragment[52:56] != b"tfdt" or fragment[56] != 1:
        raise ValueError("not a one-sample fragment written by the recorder")
    if duration_90k is None:
        return fragment[:TFDT_VALUE_AT] + struct.pack(">Q", dts_90k) + fragment[TFDT_VALUE_AT + 8 :]
    return b"".join(
        (
            fragment[:TFDT_VALUE_AT],
            struct.pack(">Q", dts_90k),
            fragment[TFDT_VALUE_AT + 8 : DURATION_AT],
            struct.pack(">I", duration_90k),
            fragment[DURATION_AT + 4 :],
        )
    )
