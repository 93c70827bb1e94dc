"""Writes the export MP4 straight from the recorded segment files (no FFmpeg).

A segment file is an fMP4 (``ftyp``+``moov``, then ``moof``+``mdat`` pairs; the
recorder writes one sample per fragment). ``read_segment`` maps a file and
lists its samples (decode time, size, duration, flags, composition offset,
data offset) from the fragment headers alone; ``select`` keeps those of a
wall-clock range; ``write_mp4`` writes a standard, non-fragmented MP4 with the
``moov`` first (faststart):

- the video track, whose sample entry (``stsd``) is the source's, copied
  verbatim (``avc1`` and ``hvc1`` alike), sample decode times placed on the
  wall clock (a gap in the recording lengthens the sample before it, so the
  file keeps the real duration);
- a ``tx3g`` subtitle track, one sample a second (date, time, place);
- ``udta`` metadata (title, comment, encoder, ISO 6709 location);
- one ``mdat``, copied from the mapped source files through write blocks,
  interleaved one second of video then its subtitle, hashed (SHA-256) on a
  second thread as it is written so the file is never read back.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import queue
import struct
import sys
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigie.media._fastpath import gather, scan_fragments, start_writeback
from vigie.media.fmp4 import (
    TIMESCALE_90K,
    UNITY_MATRIX,
    box,
    full_box,
    iter_boxes,
)

MOVIE_TIMESCALE = 1000  # mvhd, tkhd and elst durations in milliseconds
SUBTITLE_TIMESCALE = 1000
VIDEO_TRACK, SUBTITLE_TRACK = 1, 2
_EPOCH_1904 = 2_082_844_800  # seconds from 1904-01-01 (MP4 epoch) to 1970-01-01
_U32 = 0xFFFF_FFFF
_BLOCK_BYTES = 1 << 20  # one write and one hash update each
_WRITEBACK_BYTES = 8 << 20  # durable exports: disk writeback started every 8 MiB
_SAMPLE_NON_SYNC = 0x00010000  # sample_is_non_sync_sample in the sample flags
# tx3g sample entry body after the data reference index: display flags,
# centred at the bottom, background 000000ff, default text box and style
# (font 1, 16 px, white), font table "Arial": what FFmpeg's mov_text writes.
_TX3G_BODY = bytes.fromhex(
    "00000000" "01ff" "000000ff" "0000000000000000" "00000000000100" "10" "ffffffff"
) + struct.pack(">I4sHHB5s", 18, b"ftab", 1, 1, 5, b"Arial")  # fmt: skip


class SegmentError(ValueError):
    """A segment file this writer cannot read (no init, unknown layout)."""


@dataclass(slots=True)
class Segment:
    """The samples of one segment file; data offsets point into ``data``."""

    path: Path
    start_ms: int  # wall clock of its first sample (the file name)
    stsd: bytes  # the whole sample description box, header included
    width: int  # tkhd, 16.16 fixed point
    height: int
    data: mmap.mmap | None
    dts: array[int] = field(default_factory=lambda: array("q"))  # 90 kHz, first = 0
    duration: array[int] = field(default_factory=lambda: array("q"))
    size: array[int] = field(default_factory=lambda: array("I"))
    offset: array[int] = field(default_factory=lambda: array("q"))
    cts: array[int] = field(default_factory=lambda: array("i"))
    sync: bytearray = field(default_factory=bytearray)

    def __len__(self) -> int:
        return len(self.dts)

    def rel_ms(self, i: int) -> int:
        return self.dts[i] * 1000 // TIMESCALE_90K

    def keep(self, begin: int, end: int) -> None:
        """Keep samples ``[begin, end)`` only."""
        for name in ("dts", "duration", "size", "offset", "cts"):
            setattr(self, name, getattr(self, name)[begin:end])
        self.sync = self.sync[begin:end]

    def close(self) -> None:
        if self.data is not None:
            self.data.close()
            self.data = None


# --- reading segment files -----------------------------------------------------------


def read_segment(path: Path, start_ms: int) -> Segment:
    """Map ``path`` and index its samples; stops at the last complete fragment."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise SegmentError(f"{path.name}: empty")
        data = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
    try:
        seg = _parse(path, start_ms, data, size)
    except Exception:
        data.close()
        raise
    return seg


def _parse(path: Path, start_ms: int, data: mmap.mmap, end: int) -> Segment:
    pos = 0
    seg: Segment | None = None
    timescale = TIMESCALE_90K
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > end:
            break
        if kind == b"moov":
            seg, timescale = _parse_init(path, start_ms, data, pos, pos + size)
            pos += size
            break
        pos += size
    if seg is None:
        raise SegmentError(f"{path.name}: no moov")
    dts_raw = array("q")  # source timescale, absolute
    while pos + 8 <= end:
        pos = _recorder_run(seg, data, pos, end, dts_raw)
        if pos + 8 > end:
            break
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > end:
            break
        if kind == b"moof":
            moof_end = pos + size
            if moof_end + 8 > end:
                break
            msize, mkind = struct.unpack_from(">I4s", data, moof_end)
            if mkind != b"mdat" or msize < 8 or moof_end + msize > end:
                break
            _parse_moof(seg, data, pos, moof_end, moof_end + msize, dts_raw)
            pos = moof_end + msize
            continue
        pos += size  # styp, sidx, free...: skipped
    if timescale != TIMESCALE_90K:
        seg.duration = array("q", (d * TIMESCALE_90K // timescale for d in seg.duration))
        seg.cts = array("i", (c * TIMESCALE_90K // timescale for c in seg.cts))
    if dts_raw:
        rel = np.frombuffer(dts_raw, dtype=np.int64) - dts_raw[0]
        if timescale != TIMESCALE_90K:
            rel = rel * TIMESCALE_90K // timescale
        seg.dts.frombytes(rel.tobytes())
    return seg


def _recorder_run(seg: Segment, data: mmap.mmap, pos: int, end: int, dts_raw: array[int]) -> int:
    """Index the fragments from ``pos`` laid out as the recorder writes them
    (moof(mfhd, traf(tfhd, tfdt v1, trun of one sample)) + mdat), in C; return
    where that layout stops."""
    pos, dts, durations, sizes, offsets, cts, sync = scan_fragments(data, pos, end)
    dts_raw.frombytes(dts)
    seg.duration.frombytes(durations)
    seg.size.frombytes(sizes)
    seg.offset.frombytes(offsets)
    seg.cts.frombytes(cts)
    seg.sync += sync
    return pos


def _parse_init(
    path: Path, start_ms: int, data: mmap.mmap | bytes, start: int, end: int
) -> tuple[Segment, int]:
    """The first video track's tkhd size, mdhd timescale and stsd box."""
    buf = data[start:end]
    for kind, a, b in iter_boxes(buf, 8):
        if kind != b"trak":
            continue
        width = height = 0
        timescale = 0
        stsd = b""
        is_video = False
        for k2, a2, b2 in iter_boxes(buf, a, b):
            if k2 == b"tkhd":
                width, height = struct.unpack_from(">II", buf, b2 - 8)
            elif k2 == b"mdia":
                for k3, a3, b3 in iter_boxes(buf, a2, b2):
                    if k3 == b"mdhd":
                        off = a3 + (20 if buf[a3] == 1 else 12)
                        (timescale,) = struct.unpack_from(">I", buf, off)
                    elif k3 == b"hdlr":
                        is_video = buf[a3 + 8 : a3 + 12] == b"vide"
                    elif k3 == b"minf":
                        stbl = _child(buf, a3, b3, b"stbl")
                        if stbl is not None:
                            got = _child(buf, stbl[0], stbl[1], b"stsd")
                            if got is not None:
                                stsd = buf[got[0] - 8 : got[1]]
        if is_video and stsd and timescale:
            mapped = data if isinstance(data, mmap.mmap) else None
            return Segment(path, start_ms, stsd, width, height, mapped), timescale
    raise SegmentError(f"{path.name}: no video track in moov")


def sample_entry(init: bytes) -> tuple[bytes, int, int]:
    """The ``stsd`` box and the 16.16 width and height of an init segment's video track."""
    for kind, a, b in iter_boxes(init):
        if kind == b"moov":
            seg, _ = _parse_init(Path("init"), 0, init, a - 8, b)
            return seg.stsd, seg.width, seg.height
    raise SegmentError("init segment without moov")


def _child(buf: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, a, b in iter_boxes(buf, start, end):
        if k == kind:
            return a, b
    return None


def _parse_moof(
    seg: Segment, data: mmap.mmap, moof: int, moof_end: int, mdat_end: int, dts_raw: array[int]
) -> None:
    """Any one-track moof: tfhd defaults, tfdt, one or more truns."""
    buf = data[moof:moof_end]
    base_dts = dts_raw[-1] + seg.duration[-1] if dts_raw else 0
    for kind, a, b in iter_boxes(buf, 8):
        if kind != b"traf":
            continue
        base_offset = moof
        d_dur = d_size = d_flags = 0
        next_offset: int | None = None
        for k, p, _end in iter_boxes(buf, a, b):
            if k == b"tfhd":
                flags = struct.unpack_from(">I", buf, p)[0] & 0xFFFFFF
                r = p + 8
                if flags & 0x1:
                    base_offset = struct.unpack_from(">Q", buf, r)[0]
                    r += 8
                for bit in (0x2, 0x8, 0x10, 0x20):
                    if flags & bit:
                        value = struct.unpack_from(">I", buf, r)[0]
                        r += 4
                        if bit == 0x8:
                            d_dur = value
                        elif bit == 0x10:
                            d_size = value
                        elif bit == 0x20:
                            d_flags = value
            elif k == b"tfdt":
                fmt = ">Q" if buf[p] == 1 else ">I"
                base_dts = struct.unpack_from(fmt, buf, p + 4)[0]
            elif k == b"trun":
                vflags, count = struct.unpack_from(">II", buf, p)
                flags, version = vflags & 0xFFFFFF, vflags >> 24
                r = p + 8
                offset = next_offset if next_offset is not None else base_offset
                if flags & 0x1:
                    offset = base_offset + struct.unpack_from(">i", buf, r)[0]
                    r += 4
                first_flags = None
                if flags & 0x4:
                    first_flags = struct.unpack_from(">I", buf, r)[0]
                    r += 4
                for i in range(count):
                    dur, size, sflags, cts = d_dur, d_size, d_flags, 0
                    if flags & 0x100:
                        dur = struct.unpack_from(">I", buf, r)[0]
                        r += 4
                    if flags & 0x200:
                        size = struct.unpack_from(">I", buf, r)[0]
                        r += 4
                    if flags & 0x400:
                        sflags = struct.unpack_from(">I", buf, r)[0]
                        r += 4
                    elif i == 0 and first_flags is not None:
                        sflags = first_flags
                    if flags & 0x800:
                        cts = struct.unpack_from(">i" if version else ">I", buf, r)[0]
                        r += 4
                    if offset + size > mdat_end:
                        raise SegmentError(f"{seg.path.name}: sample beyond its mdat")
                    dts_raw.append(base_dts)
                    seg.duration.append(dur)
                    seg.size.append(size)
                    seg.offset.append(offset)
                    seg.cts.append(cts)
                    seg.sync.append(0 if sflags & _SAMPLE_NON_SYNC else 1)
                    base_dts += dur
                    offset += size
                next_offset = offset
        return  # one track


# --- choosing the samples of a range -----------------------------------------------


@dataclass(slots=True)
class Selection:
    segments: list[Segment]  # each trimmed to the samples exported
    first_ms: int  # wall clock of the first sample
    times: list[array[int]]  # per segment: output decode times (90 kHz, first = 0)
    end_90k: int  # output duration
    frames: int

    @property
    def end_ms(self) -> int:
        return self.first_ms + self.end_90k * 1000 // TIMESCALE_90K

    def close(self) -> None:
        for seg in self.segments:
            seg.close()


def strictly_increasing(t: npt.NDArray[np.int64], after: int) -> array[int]:
    """``t`` made strictly increasing and above ``after``, each value raised as
    little as needed (files that overlap on the wall clock):
    ``f[i] = max(t[i], f[i-1] + 1)``, computed as a running maximum of ``t[i] - i``."""
    steps = np.arange(len(t), dtype=np.int64)
    g = np.maximum.accumulate(np.maximum(t - steps, after + 1))
    out = array("q")
    out.frombytes((g + steps).tobytes())
    return out


def select(segments: Sequence[Segment], start_ms: int, end_ms: int) -> Selection | None:
    """Samples in ``[start_ms, end_ms)`` from the keyframe at or before ``start_ms``.

    Decode times follow the wall clock (each file's name plus its own decode
    times), so a gap between files becomes the duration of the sample before it.
    Segments not used are closed. None when no keyframe starts the range.
    """
    kept: list[Segment] = []
    times: list[array[int]] = []
    first_ms: int | None = None
    origin_ms = 0  # wall clock of output time 0 (90 kHz offset below)
    origin_dts = 0
    last_t = -1
    for seg in segments:
        begin = 0
        if first_ms is None:
            keys = np.flatnonzero(np.frombuffer(seg.sync, dtype=np.uint8))
            if not len(keys):
                seg.close()
                continue
            # rel_ms(i) <= X  <=>  dts[i] < 90 (X + 1): decode times in 90 kHz, X in ms
            limit = (start_ms - seg.start_ms + 1) * (TIMESCALE_90K // 1000)
            before = keys[np.frombuffer(seg.dts, dtype=np.int64)[keys] < limit]
            begin = int(before[-1]) if len(before) else int(keys[0])
            first_ms = seg.start_ms + seg.rel_ms(begin)
            origin_ms, origin_dts = seg.start_ms, seg.dts[begin]
        # the first sample at or after end_ms: rel_ms(i) < X  <=>  dts[i] < 90 X
        dts = np.frombuffer(seg.dts, dtype=np.int64)
        stop = begin + int(
            np.searchsorted(dts[begin:], (end_ms - seg.start_ms) * (TIMESCALE_90K // 1000))
        )
        if stop == begin:
            seg.close()
            continue
        seg.keep(begin, stop)
        shift = (seg.start_ms - origin_ms) * TIMESCALE_90K // 1000 - origin_dts
        kept.append(seg)
        times.append(strictly_increasing(np.frombuffer(seg.dts, dtype=np.int64) + shift, last_t))
        last_t = times[-1][-1]
    if first_ms is None or not kept:
        return None
    last_seg, last_times = kept[-1], times[-1]
    last_dur = last_seg.duration[-1]
    if last_dur <= 0:
        deltas = [b - a for a, b in itertools.pairwise(last_times)]
        last_dur = deltas[-1] if deltas and 0 < deltas[-1] < TIMESCALE_90K else 3600
    frames = sum(len(s) for s in kept)
    return Selection(kept, first_ms, times, last_times[-1] + last_dur, frames)


# --- writing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tags:
    title: str
    comment: str
    encoder: str = "Vigie"
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Written:
    size_bytes: int
    sha256: str


def _be(values: Iterable[int], code: str = "I") -> bytes:
    """Big-endian packing of a table (``I``: 32-bit, ``Q``: 64-bit unsigned)."""
    a = array(code, values)
    if sys.byteorder == "little":
        a.byteswap()
    return a.tobytes()


def _runs(values: npt.NDArray[np.integer[Any]]) -> tuple[list[int], int]:
    """Run-length pairs [count, value, count, value...] and how many runs."""
    if not len(values):
        return [], 0
    starts = np.flatnonzero(np.diff(values, prepend=values[0] - 1))
    pairs = np.empty(2 * len(starts), dtype=np.int64)
    pairs[0::2] = np.diff(starts, append=len(values))
    pairs[1::2] = values[starts]
    return pairs.tolist(), len(starts)


def _lang(code: str) -> int:
    a, b, c = (ord(ch) - 0x60 for ch in code)
    return (a << 10) | (b << 5) | c


@dataclass(slots=True)
class _Track:
    """Sample table of one output track; chunk offsets relative to the mdat payload."""

    sizes: array[int] = field(default_factory=lambda: array("I"))
    chunk_offsets: list[int] = field(default_factory=list)
    chunk_counts: list[int] = field(default_factory=list)
    chunk_entries: list[int] = field(default_factory=list)  # sample description index

    def chunk(self, offset: int, count: int, entry: int = 1) -> None:
        self.chunk_offsets.append(offset)
        self.chunk_counts.append(count)
        self.chunk_entries.append(entry)

    def stsc(self) -> bytes:
        entries: list[int] = []
        prev = (-1, -1)
        for i, run in enumerate(zip(self.chunk_counts, self.chunk_entries, strict=True), 1):
            if run != prev:
                entries += (i, *run)
                prev = run
        return full_box(b"stsc", 0, 0, struct.pack(">I", len(entries) // 3), _be(entries))

    def stsz(self) -> bytes:
        return full_box(b"stsz", 0, 0, struct.pack(">II", 0, len(self.sizes)), _be(self.sizes))

    def stco(self, base: int, wide: bool) -> bytes:
        offsets = [base + o for o in self.chunk_offsets]
        count = struct.pack(">I", len(offsets))
        if wide:
            return full_box(b"co64", 0, 0, count, _be(offsets, "Q"))
        return full_box(b"stco", 0, 0, count, _be(offsets))


def _mvhd(created: int, duration_ms: int) -> bytes:
    v = 1 if max(created, duration_ms) > _U32 else 0
    times = (
        struct.pack(">QQIQ", created, created, MOVIE_TIMESCALE, duration_ms)
        if v
        else struct.pack(">IIII", created, created, MOVIE_TIMESCALE, duration_ms)
    )
    return full_box(
        b"mvhd", v, 0, times, struct.pack(">IH", 0x00010000, 0x0100), b"\x00" * 10, UNITY_MATRIX,
        b"\x00" * 24, struct.pack(">I", SUBTITLE_TRACK + 1),
    )  # fmt: skip


def _tkhd(track: int, created: int, duration_ms: int, width: int, height: int) -> bytes:
    v = 1 if max(created, duration_ms) > _U32 else 0
    times = (
        struct.pack(">QQIIQ", created, created, track, 0, duration_ms)
        if v
        else struct.pack(">IIIII", created, created, track, 0, duration_ms)
    )
    return full_box(
        b"tkhd", v, 0x3, times, b"\x00" * 16, UNITY_MATRIX, struct.pack(">II", width, height)
    )


def _mdhd(created: int, timescale: int, duration: int, lang: str) -> bytes:
    v = 1 if max(created, duration) > _U32 else 0
    times = (
        struct.pack(">QQIQ", created, created, timescale, duration)
        if v
        else struct.pack(">IIII", created, created, timescale, duration)
    )
    return full_box(b"mdhd", v, 0, times, struct.pack(">HH", _lang(lang), 0))


def _hdlr(kind: bytes, name: str) -> bytes:
    return full_box(
        b"hdlr", 0, 0, struct.pack(">I4s", 0, kind), b"\x00" * 12, name.encode() + b"\x00"
    )


def _elst(duration_ms: int, media_time: int) -> bytes:
    if max(duration_ms, media_time) > 0x7FFF_FFFF:
        entry = full_box(b"elst", 1, 0, struct.pack(">IQqI", 1, duration_ms, media_time, 0x10000))
    else:
        entry = full_box(b"elst", 0, 0, struct.pack(">IIiI", 1, duration_ms, media_time, 0x10000))
    return box(b"edts", entry)


_DINF = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))


def _udta(tags: Tags) -> bytes:
    def item(kind: bytes, text: str) -> bytes:
        return box(kind, box(b"data", struct.pack(">II", 1, 0), text.encode()))

    ilst = box(
        b"ilst",
        item(b"\xa9nam", tags.title),
        item(b"\xa9too", tags.encoder),
        item(b"\xa9cmt", tags.comment),
    )
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s4s", 0, b"mdir", b"appl"), b"\x00" * 9)
    meta = full_box(b"meta", 0, 0, hdlr, ilst)
    parts = [meta]
    if tags.lat is not None and tags.lon is not None:
        iso6709 = f"{tags.lat:+08.4f}{tags.lon:+09.4f}/".encode()
        # 3GPP loci (FFmpeg's mp4 muxer) and QuickTime ©xyz (phones, Windows, exiftool)
        parts.append(
            full_box(
                b"loci", 0, 0,
                struct.pack(">HBBiii", 0, 0, 0, round(tags.lon * 65536), round(tags.lat * 65536), 0),
                b"earth\x00\x00",
            )
        )  # fmt: skip
        parts.append(box(b"\xa9xyz", struct.pack(">HH", len(iso6709), 0x15C7), iso6709))
    return box(b"udta", *parts)


def _mp4_time(ms: int) -> int:
    return ms // 1000 + _EPOCH_1904


def write_mp4(
    out: Path,
    sel: Selection,
    *,
    subtitle: Callable[[int], str],
    tags: Tags,
    durable: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Written:
    """Write ``sel`` to ``out``; ``subtitle(ms)`` gives the text of the second at ``ms``.

    ``durable``: on disk (``fsync``) when this returns; False only where a
    benchmark measures the page-cache path alone. ``progress(written, total)``
    is called after each block."""
    video, subs = _Track(), _Track()
    sub_texts: list[bytes] = []
    span_ms = sel.end_ms - sel.first_ms
    seconds = max(1, -(-span_ms // 1000))
    for k in range(seconds):
        text = subtitle(sel.first_ms + k * 1000).encode()
        sub_texts.append(struct.pack(">H", len(text)) + text)
    subs.sizes = array("I", (len(s) for s in sub_texts))
    sub_last = span_ms - (seconds - 1) * 1000
    # Layout of the mdat payload: for each second, its video (one chunk per source
    # file) then its subtitle. plan: (segment index, first sample, end sample) or
    # (-1, subtitle index, 0), in file order.
    plan: list[tuple[int, int, int]] = []
    entries: list[bytes] = []  # distinct video sample entries (a camera reconfigured)
    entry_of: list[int] = []
    for seg in sel.segments:
        if seg.stsd[16:] not in entries:
            entries.append(seg.stsd[16:])
        entry_of.append(entries.index(seg.stsd[16:]) + 1)
    stsd = (
        sel.segments[0].stsd
        if len(entries) == 1
        else full_box(b"stsd", 0, 0, struct.pack(">I", len(entries)), *entries)
    )
    pos = 0
    next_sub = 0
    sizes_all = video.sizes
    for si, (seg, t) in enumerate(zip(sel.segments, sel.times, strict=True)):
        sizes_all.extend(seg.size)
        second_of = np.frombuffer(t, dtype=np.int64) // TIMESCALE_90K
        starts = np.flatnonzero(np.diff(second_of, prepend=-1))  # a chunk per second
        ends = [*starts[1:].tolist(), len(seg)]
        csum = np.cumsum(np.frombuffer(seg.size, dtype=np.uint32), dtype=np.int64).tolist()
        for i, j in zip(starts.tolist(), ends, strict=True):
            second = int(second_of[i])
            while next_sub < seconds and next_sub <= second:
                subs.chunk(pos, 1)
                plan.append((-1, next_sub, 0))
                pos += len(sub_texts[next_sub])
                next_sub += 1
            video.chunk(pos, j - i, entry_of[si])
            plan.append((si, i, j))
            pos += csum[j - 1] - (csum[i - 1] if i else 0)
    while next_sub < seconds:
        subs.chunk(pos, 1)
        plan.append((-1, next_sub, 0))
        pos += len(sub_texts[next_sub])
        next_sub += 1
    payload = pos

    created = _mp4_time(sel.first_ms)
    duration_ms = sel.end_90k * MOVIE_TIMESCALE // TIMESCALE_90K
    all_times = np.concatenate([np.frombuffer(t, dtype=np.int64) for t in sel.times])
    stts_runs, stts_n = _runs(np.diff(all_times, append=sel.end_90k))
    cts = np.concatenate([np.frombuffer(seg.cts, dtype=np.int32) for seg in sel.segments])
    flags = np.frombuffer(b"".join(seg.sync for seg in sel.segments), dtype=np.uint8)
    sync = (np.flatnonzero(flags) + 1).tolist()
    first = sel.segments[0]

    def moov(base: int, wide: bool) -> bytes:
        vtables = [
            stsd,
            full_box(b"stts", 0, 0, struct.pack(">I", stts_n), _be(stts_runs)),
        ]
        if cts.any():
            runs, n = _runs(cts)
            table = np.array(runs, dtype=">i4").tobytes()  # count (< 2**31), offset
            version = 1 if cts.min() < 0 else 0
            vtables.append(full_box(b"ctts", version, 0, struct.pack(">I", n), table))
        if len(sync) < sel.frames:
            vtables.append(full_box(b"stss", 0, 0, struct.pack(">I", len(sync)), _be(sync)))
        vtables += [video.stsc(), video.stsz(), video.stco(base, wide)]
        vtrak = box(
            b"trak",
            _tkhd(VIDEO_TRACK, created, duration_ms, first.width, first.height),
            _elst(duration_ms, int(cts[0])),
            box(
                b"mdia",
                _mdhd(created, TIMESCALE_90K, sel.end_90k, "und"),
                _hdlr(b"vide", "Vigie"),
                box(b"minf", full_box(b"vmhd", 0, 1, b"\x00" * 8), _DINF, box(b"stbl", *vtables)),
            ),
        )
        tx3g = box(b"tx3g", b"\x00" * 6, struct.pack(">H", 1), _TX3G_BODY)
        sub_stts = [seconds - 1, 1000, 1, sub_last] if seconds > 1 else [1, sub_last]
        strak = box(
            b"trak",
            _tkhd(SUBTITLE_TRACK, created, duration_ms, 0, 0),
            _elst(duration_ms, 0),
            box(
                b"mdia",
                _mdhd(created, SUBTITLE_TIMESCALE, span_ms, "fre"),
                _hdlr(b"sbtl", "SubtitleHandler"),
                box(
                    b"minf",
                    full_box(b"nmhd", 0, 0),
                    _DINF,
                    box(
                        b"stbl",
                        full_box(b"stsd", 0, 0, struct.pack(">I", 1), tx3g),
                        full_box(
                            b"stts", 0, 0, struct.pack(">I", len(sub_stts) // 2), _be(sub_stts)
                        ),
                        subs.stsc(),
                        subs.stsz(),
                        subs.stco(base, wide),
                    ),
                ),
            ),
        )
        return box(b"moov", _mvhd(created, duration_ms), vtrak, strak, _udta(tags))

    compatible = b"isomiso2" + (b"avc1" if first.stsd[20:24] == b"avc1" else b"") + b"mp41"
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), compatible)
    wide_mdat = payload + 8 > _U32
    mdat_header = (
        struct.pack(">I4sQ", 1, b"mdat", payload + 16)
        if wide_mdat
        else struct.pack(">I4s", payload + 8, b"mdat")
    )
    wide = False  # 64-bit chunk offsets once the file passes 4 GiB
    base = len(ftyp) + len(moov(0, wide)) + len(mdat_header)
    if base + payload > _U32:
        wide = True
        base = len(ftyp) + len(moov(0, wide)) + len(mdat_header)
    head = ftyp + moov(base, wide) + mdat_header
    assert len(head) == base
    return _copy(out, head, sel, plan, sub_texts, base + payload, durable, progress)


class _HashedWriter:
    """Sequential writer through a ring of 1 MiB blocks, hashed on a second thread.

    Samples are gathered into the current block in C (``gather``, one
    ``memcpy`` each, GIL released); a full block is handed to the hashing
    thread and written with one ``write``. SHA-256 (OpenSSL, ~1.5 GB/s here
    with SHA-NI) is the slowest step and is sequential by nature; on its own
    thread it runs while the next blocks are gathered and written, so an export
    costs about one hash pass instead of hash + copy. Both threads hold the GIL
    only between blocks. ``durable``: the disk's writeback is started every
    8 MiB as the file is written and ``finish`` ends with ``fsync``, so the
    wait for the disk overlaps the hashing.
    """

    def __init__(
        self, fd: int, *, durable: bool, blocks: int = 4, block_bytes: int = _BLOCK_BYTES
    ) -> None:
        self._fd = fd
        self._durable = durable
        self._flushed = 0  # bytes handed to the disk's writeback so far
        self._digest = hashlib.sha256()
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        for _ in range(blocks):
            self._free.put(bytearray(block_bytes))
        self._block = self._free.get()
        self._size = block_bytes
        self._pos = 0
        self.written = 0
        self.on_block: Callable[[int], None] | None = None  # bytes written so far
        self._thread = threading.Thread(target=self._hash, name="export-sha256", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        while (item := self._full.get()) is not None:
            block, n = item
            with memoryview(block) as view, view[:n] as data:
                self._digest.update(data)
            self._free.put(block)

    def add(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(self._size - self._pos, len(view))
            self._block[self._pos : self._pos + take] = view[:take]
            self._pos += take
            view = view[take:]
            if self._pos == self._size:
                self._ship()

    def samples(
        self, src: mmap.mmap | bytes, offsets: array[int], sizes: array[int], a: int, b: int
    ) -> None:
        """Add samples ``[a, b)`` of a mapped segment file."""
        skip = 0
        while a < b:
            a, skip, self._pos = gather(self._block, self._pos, src, offsets, sizes, a, b, skip)
            if self._pos == self._size:
                self._ship()

    def _ship(self) -> None:
        block, n = self._block, self._pos
        self._full.put((block, n))  # hashed while it is written
        with memoryview(block) as view, view[:n] as rest:
            while rest:
                w = os.write(self._fd, rest)
                self.written += w
                rest = rest[w:]
        if self._durable and self.written - self._flushed >= _WRITEBACK_BYTES:
            start_writeback(self._fd, self._flushed, self.written - self._flushed)
            self._flushed = self.written
        self._block = self._free.get()
        self._pos = 0
        if self.on_block is not None:
            self.on_block(self.written)

    def finish(self) -> str:
        """Write what is left, wait for the hash; with ``durable``, for the disk too."""
        if self._pos:
            self._ship()
        self.close()
        if self._durable:
            os.fsync(self._fd)
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()


def _copy(
    out: Path,
    head: bytes,
    sel: Selection,
    plan: list[tuple[int, int, int]],
    sub_texts: list[bytes],
    total: int,
    durable: bool,
    progress: Callable[[int, int], None] | None = None,
) -> Written:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # as the manifest: umask
    sink = _HashedWriter(fd, durable=durable)
    if progress is not None:
        sink.on_block = lambda written: progress(written, total)
    last_use = {si: k for k, (si, _, _) in enumerate(plan) if si >= 0}
    try:
        sink.add(head)
        for k, (si, a, b) in enumerate(plan):
            if si < 0:
                sink.add(sub_texts[a])
                continue
            seg = sel.segments[si]
            assert seg.data is not None
            sink.samples(seg.data, seg.offset, seg.size, a, b)
            if last_use[si] == k:
                seg.close()  # copied: unmapped now rather than after the hash
        sha256 = sink.finish()
    finally:
        sink.close()
        os.close(fd)
    if sink.written != total:
        raise OSError(f"{out}: wrote {sink.written} bytes, expected {total}")
    return Written(sink.written, sha256)
