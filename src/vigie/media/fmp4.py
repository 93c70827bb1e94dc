"""Fragmented MP4 (ISO BMFF) writer for one H.264 or H.265 video track, and a box reader.

``init_segment`` builds ftyp+moov; ``media_segment`` builds one moof+mdat.
The live path emits one fragment per frame so that the delay added by the
container is nil; that fragment is built in C (``_fastpath.c``, byte for byte
what ``media_segment`` writes for one sample).
Timescale is 90 kHz, the RTP clock of video, so timestamps are never rescaled.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

TIMESCALE_90K = 90_000
TRACK_ID = 1

SAMPLE_FLAGS_SYNC = 0x02000000  # sample_depends_on = 2 (does not depend on others)
SAMPLE_FLAGS_NON_SYNC = 0x01010000  # depends on others, is_non_sync_sample

UNITY_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True, slots=True)
class Sample:
    data: bytes  # AVCC-framed access unit (4-byte lengths)
    duration_90k: int
    is_sync: bool
    cts_offset_90k: int = 0


def init_segment(
    *,
    width: int,
    height: int,
    avcc: bytes | None = None,
    hvcc: bytes | None = None,
    timescale: int = TIMESCALE_90K,
) -> bytes:
    """ftyp+moov for one video track: ``avc1``/``avcC`` (H.264) or ``hvc1``/``hvcC`` (H.265),
    exactly one of the two records given."""
    if (avcc is None) == (hvcc is None):
        raise ValueError("init_segment takes one decoder configuration: avcc or hvcc")
    if avcc is not None:
        entry, config, brands = b"avc1", box(b"avcC", avcc), b"isomiso6iso2avc1mp41"
    else:
        assert hvcc is not None
        entry, config, brands = b"hvc1", box(b"hvcC", hvcc), b"isomiso6iso2mp41"
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), brands)
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, 1000, 0),
        struct.pack(">IH", 0x00010000, 0x0100),
        b"\x00" * 10,
        UNITY_MATRIX,
        b"\x00" * 24,
        struct.pack(">I", TRACK_ID + 1),
    )  # fmt: skip
    tkhd = full_box(
        b"tkhd", 0, 0x000003,
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0),
        b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0, 0),
        UNITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"vide"), b"\x00" * 12, b"Vigie\x00")
    vmhd = full_box(b"vmhd", 0, 1, b"\x00" * 8)
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    sample_entry = box(
        entry,
        b"\x00" * 6,
        struct.pack(">H", 1),
        b"\x00" * 16,
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),
        b"\x00" * 32,
        struct.pack(">Hh", 0x0018, -1),
        config,
    )
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(b"minf", vmhd, dinf, stbl)
    mdia = box(b"mdia", mdhd, hdlr, minf)
    trak = box(b"trak", tkhd, mdia)
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0)))
    return ftyp + box(b"moov", mvhd, trak, mvex)


def media_segment(sequence: int, base_dts_90k: int, samples: Sequence[Sample]) -> bytes:
    """One moof+mdat holding ``samples`` that start at decode time ``base_dts_90k``."""
    n = len(samples)
    entries = b"".join(
        struct.pack(
            ">IIIi",
            s.duration_90k,
            len(s.data),
            SAMPLE_FLAGS_SYNC if s.is_sync else SAMPLE_FLAGS_NON_SYNC,
            s.cts_offset_90k,
        )
        for s in samples
    )
    # moof = 8 + mfhd(16) + traf(8 + tfhd 16 + tfdt 20 + trun (20 + 16n))
    moof_size = 8 + 16 + 8 + 16 + 20 + 20 + 16 * n
    data_offset = moof_size + 8
    traf = box(
        b"traf",
        full_box(b"tfhd", 0, 0x020000, struct.pack(">I", TRACK_ID)),
        full_box(b"tfdt", 1, 0, struct.pack(">Q", base_dts_90k)),
        full_box(b"trun", 1, 0x000F01, struct.pack(">Ii", n, data_offset), entries),
    )
    moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), traf)
    assert len(moof) == moof_size
    payload = b"".join(s.data for s in samples)
    return moof + struct.pack(">I4s", 8 + len(payload), b"mdat") + payload


def iter_boxes(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, payload end) for each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at {pos} overruns its container")
        yield kind, pos + header, pos + size
        pos += size
