"""The export MP4 writer, checked against independent readers (FFmpeg, PyAV).

Fixtures are real encodes: H.264 with B-frames (so composition offsets and the
edit list matter) recorded by the real fragmenter and recorder, and an HEVC
fMP4 written by FFmpeg (several samples per fragment, its own timescale).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.unit.recording.helpers import make_camera
from vigie.base.clock import SimulatedClock
from vigie.cli.main import main
from vigie.domain.masks import parse_masks
from vigie.media._fastpath import gather
from vigie.media.fragmenter import H264Fragmenter
from vigie.media.recorder import StreamRecorder
from vigie.recording import index, manifest
from vigie.recording import mp4writer as mp4
from vigie.recording.export import export_range
from vigie.recording.index import utc_to_ms
from vigie.recording.masking import masked_selection

T0 = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)
FPS = 25


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _probe(path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def h264_units(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[bytes, int, int]]:
    """4 s of 320x240 H.264, GOP 1 s, two B-frames: (Annex B AU, pts, dts) at 90 kHz."""
    clip = tmp_path_factory.mktemp("clip") / "clip.ts"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=4",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), "-bf", "2",
        "-pix_fmt", "yuv420p", "-f", "mpegts", str(clip),
    )  # fmt: skip
    with av.open(str(clip)) as c:
        units = [(bytes(p), p.pts, p.dts) for p in c.demux(c.streams.video[0]) if p.size]
    base = units[0][2]
    return [(d, pts - base, dts - base) for d, pts, dts in units]


def record_clip(
    root: Path, units: list[tuple[bytes, int, int]], start: datetime, seconds: float
) -> None:
    """Record ``seconds`` of the looped clip as if it began at ``start`` (2 s segments)."""
    clock = SimulatedClock(start)
    rec = StreamRecorder(root, 1, clock=clock, roll_s=2.0)
    frag = H264Fragmenter()
    loop = len(units) * 3600
    for i in range(int(seconds * FPS)):
        data, pts, dts = units[i % len(units)]
        shift = (i // len(units)) * loop
        init, f = frag.push(data, pts=pts + shift, dts=dts + shift, read_mono=0.0)
        if init is not None:
            rec.on_init("x", init)
        if f is not None:
            rec.on_fragment("x", f)
        clock.advance(0.04)
    rec.stop()


def segments(root: Path) -> list[mp4.Segment]:
    paths = sorted((root / "1").iterdir())
    return [mp4.read_segment(p, int(p.stem)) for p in paths]


def write(
    root: Path, out: Path, start: datetime, end: datetime, lat: float | None = 50.63
) -> tuple[mp4.Selection, mp4.Written]:
    sel = mp4.select(segments(root), utc_to_ms(start), utc_to_ms(end))
    assert sel is not None
    tags = mp4.Tags(title="Vigie — Place, Lille", comment="Caméra 1", lat=lat, lon=3.06)
    try:
        written = mp4.write_mp4(out, sel, subtitle=lambda ms: f"at {ms}", tags=tags)
    finally:
        sel.close()
    return sel, written


def boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, tuple[int, int]]:
    """Child boxes of data[start:end] by type: (payload start, end); 64-bit sizes too."""
    return {kind: (a, b) for kind, a, b in mp4.iter_boxes(data, start, end)}


def path_of(data: bytes, *kinds: bytes) -> tuple[int, int]:
    a, b = 0, len(data)
    for kind in kinds:
        a, b = boxes(data, a, b)[kind]
    return a, b


def traks(data: bytes) -> list[tuple[int, int]]:
    a, b = path_of(data, b"moov")
    return [(p, q) for kind, p, q in mp4.iter_boxes(data, a, b) if kind == b"trak"]


def sample_table(data: bytes, trak: tuple[int, int]) -> list[tuple[int, int]]:
    """(file offset, size) of every sample, from stsz, stsc and stco/co64."""
    a, b = trak
    a, b = boxes(data, a, b)[b"mdia"]
    a, b = boxes(data, a, b)[b"minf"]
    stbl = boxes(data, *boxes(data, a, b)[b"stbl"])
    p = stbl[b"stsz"][0]
    _, fixed, count = struct.unpack_from(">III", data, p)
    sizes = [fixed] * count if fixed else list(struct.unpack_from(f">{count}I", data, p + 12))
    p = stbl[b"stsc"][0]
    (n,) = struct.unpack_from(">I", data, p + 4)
    runs = [struct.unpack_from(">III", data, p + 8 + 12 * i) for i in range(n)]
    if b"co64" in stbl:
        p = stbl[b"co64"][0]
        (m,) = struct.unpack_from(">I", data, p + 4)
        offsets = list(struct.unpack_from(f">{m}Q", data, p + 8))
    else:
        p = stbl[b"stco"][0]
        (m,) = struct.unpack_from(">I", data, p + 4)
        offsets = list(struct.unpack_from(f">{m}I", data, p + 8))
    out: list[tuple[int, int]] = []
    k = 0
    for c, off in enumerate(offsets, start=1):
        per = [r[1] for r in runs if r[0] <= c][-1]
        for _ in range(per):
            out.append((off, sizes[k]))
            off += sizes[k]
            k += 1
    assert k == count
    return out


def test_boxes_offsets_and_samples(
    h264_units: list[tuple[bytes, int, int]], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 7)
    out = tmp_path / "out.mp4"
    sel, written = write(
        root, out, T0 + timedelta(seconds=1, milliseconds=500), T0 + timedelta(seconds=6)
    )
    data = out.read_bytes()
    assert written.size_bytes == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    top = [kind for kind, _, _ in mp4.iter_boxes(data)]
    assert top == [b"ftyp", b"moov", b"mdat"]  # faststart, one mdat
    video, subs = traks(data)
    # the source's sample description, byte for byte
    src = segments(root)
    a, b = path_of(data, b"moov")
    assert src[0].stsd in data[a:b]
    # every video sample's bytes are the source sample's bytes, in order
    expected = []
    for seg in src:
        assert seg.data is not None
        expected += [bytes(seg.data[o : o + n]) for o, n in zip(seg.offset, seg.size, strict=True)]
        seg.close()
    got = [data[o : o + n] for o, n in sample_table(data, video)]
    # starts at the keyframe at or before 1.5 s (1 s), stops before 6 s
    first = FPS * 1
    assert got == expected[first : first + len(got)]
    assert len(got) == sel.frames == 5 * FPS
    # subtitle samples: 16-bit length + text, one a second
    texts = [data[o + 2 : o + n].decode() for o, n in sample_table(data, subs)]
    first_ms = utc_to_ms(T0 + timedelta(seconds=1))
    assert texts == [f"at {first_ms + k * 1000}" for k in range(5)]
    # interleaved: about one video chunk a second, each followed by its subtitle
    vchunks = struct.unpack_from(">I", data, data.index(b"stco") + 8)[0]
    assert 5 <= vchunks <= 5 + len(src)


def test_independent_readers(h264_units: list[tuple[bytes, int, int]], tmp_path: Path) -> None:
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 8)
    out = tmp_path / "out.mp4"
    write(root, out, T0, T0 + timedelta(seconds=8))
    info = _probe(out, "-show_format", "-show_streams", "-count_packets")
    v, s = info["streams"]
    assert v["codec_name"] == "h264" and v["codec_tag_string"] == "avc1"
    assert int(v["nb_read_packets"]) == int(v["nb_frames"]) == 8 * FPS
    assert abs(float(info["format"]["duration"]) - 8.0) <= 1 / FPS
    assert s["codec_name"] == "mov_text" and s["tags"]["language"] == "fre"
    tags = info["format"]["tags"]
    assert tags["title"] == "Vigie — Place, Lille" and tags["comment"] == "Caméra 1"
    assert tags["location"] == "+50.6300+003.0600/"
    assert tags["creation_time"] == "2026-11-26T20:00:00.000000Z"
    # decodes without a single error, B-frames in presentation order
    err = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert err == ""
    with av.open(str(out)) as c:
        pts = [f.pts for f in c.decode(c.streams.video[0])]
    assert len(pts) == 8 * FPS and pts == sorted(pts) and pts[0] == 0
    srt = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(out), "-map", "0:s", "-f", "srt", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "00:00:07,000 --> 00:00:08,000" in srt and f"at {utc_to_ms(T0) + 7000}" in srt


def test_gap_keeps_real_duration(h264_units: list[tuple[bytes, int, int]], tmp_path: Path) -> None:
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 4)
    record_clip(root, h264_units, T0 + timedelta(seconds=14), 3)  # 10 s without recording
    out = tmp_path / "out.mp4"
    sel, _ = write(root, out, T0 + timedelta(seconds=1), T0 + timedelta(seconds=30), lat=None)
    assert sel.frames == 6 * FPS
    assert sel.end_ms - sel.first_ms == 16_000
    info = _probe(out, "-show_format", "-show_streams")
    assert abs(float(info["format"]["duration"]) - 16.0) <= 1 / FPS
    assert "location" not in info["format"]["tags"]
    data = out.read_bytes()
    p = data.index(b"stts") + 4
    (n,) = struct.unpack_from(">I", data, p + 4)
    stts = [struct.unpack_from(">II", data, p + 8 + 8 * i) for i in range(n)]
    # the last frame before the gap lasts the gap too; every other one 40 ms
    assert stts == [(3 * FPS - 1, 3600), (1, 3600 + 10 * 90_000), (3 * FPS, 3600)]
    pkts = _probe(out, "-select_streams", "v", "-show_entries", "packet=pts,flags")["packets"]
    keys = [int(p["pts"]) for p in pkts if p["flags"].startswith("K")]
    assert 13 * 90_000 in keys  # the keyframe recorded at 14 s shows at 13 s in the file


def test_wide_offsets(
    h264_units: list[tuple[bytes, int, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 4 GiB: co64 chunk offsets, 64-bit mdat size and version-1 boxes (threshold lowered)."""
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 3)
    monkeypatch.setattr(mp4, "_U32", 1000)
    out = tmp_path / "out.mp4"
    write(root, out, T0, T0 + timedelta(seconds=3))
    data = out.read_bytes()
    assert b"co64" in data and b"stco" not in data
    mdat = data.index(b"mdat") - 4
    assert struct.unpack_from(">I", data, mdat)[0] == 1  # 64-bit size follows
    video, _ = traks(data)
    src = segments(root)
    assert src[0].data is not None
    first = bytes(src[0].data[src[0].offset[0] : src[0].offset[0] + src[0].size[0]])
    for seg in src:
        seg.close()
    o, n = sample_table(data, video)[0]
    assert data[o : o + n] == first
    info = _probe(out, "-show_format", "-show_streams", "-count_packets")
    assert int(info["streams"][0]["nb_read_packets"]) == 3 * FPS
    assert abs(float(info["format"]["duration"]) - 3.0) <= 1 / FPS


def hevc_fmp4(root: Path, seconds: int, x265: str = "") -> Path:
    """An HEVC fMP4 from FFmpeg as camera 1's segment at T0: several samples a
    fragment, its own timescale, GOP 1 s."""
    (root / "1").mkdir()
    src = root / "1" / f"{utc_to_ms(T0)}.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={seconds}",
        "-c:v", "libx265", "-preset", "ultrafast",
        "-x265-params", f"log-level=error:keyint=25{x265}",
        "-tag:v", "hvc1", "-f", "mp4", "-movflags", "frag_keyframe+empty_moov", str(src),
    )  # fmt: skip
    return src


def test_hevc_sample_entry_copied(tmp_path: Path) -> None:
    """An HEVC fMP4 from FFmpeg: several samples a fragment, its own timescale."""
    src = hevc_fmp4(tmp_path, 3)
    seg = mp4.read_segment(src, utc_to_ms(T0))
    assert len(seg) == 3 * FPS and seg.stsd[20:24] == b"hvc1"
    assert sum(seg.sync) == 3 and seg.dts[1] == 3600
    seg.close()
    out = tmp_path / "out.mp4"
    write(tmp_path, out, T0, T0 + timedelta(seconds=3))
    a, b = path_of(out.read_bytes(), b"moov")
    source = src.read_bytes()
    at = source.index(b"stsd") - 4
    stsd = source[at : at + struct.unpack_from(">I", source, at)[0]]
    assert stsd in out.read_bytes()[a:b]
    info = _probe(out, "-show_format", "-show_streams", "-count_packets")
    v = info["streams"][0]
    assert v["codec_name"] == "hevc" and v["codec_tag_string"] == "hvc1"
    assert int(v["nb_read_packets"]) == 3 * FPS
    assert abs(float(info["format"]["duration"]) - 3.0) <= 1 / FPS
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == 3 * FPS
    err = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert err == ""


def test_truncated_and_foreign_files(
    h264_units: list[tuple[bytes, int, int]], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 2)
    path = sorted((root / "1").iterdir())[0]
    whole = mp4.read_segment(path, 0)
    n = len(whole)
    whole.close()
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - 100)  # the last fragment torn
    cut = mp4.read_segment(path, 0)
    assert len(cut) == n - 1
    cut.close()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x10free" + b"\x00" * 8)
    with pytest.raises(mp4.SegmentError):
        mp4.read_segment(junk, 0)


def test_export_flipped_byte_in_moov_detected(
    db_session: Session, h264_units: list[tuple[bytes, int, int]], tmp_path: Path
) -> None:
    root = tmp_path / "recordings"
    cam = make_camera(db_session)
    assert cam.id == 1
    record_clip(root, h264_units, T0, 4)
    index.sync(db_session, root, now=T0)
    out = tmp_path / "export"
    res = export_range(
        db_session, root=root, data_dir=tmp_path, out_dir=out, camera_id=cam.id,
        start=T0, end=T0 + timedelta(seconds=3), now=T0, operator="alice",
        operator_account_id=None, recipient="OPJ", service="Commissariat", reason="PV 2026/77",
    )  # fmt: skip
    assert res.frames == 3 * FPS
    entry = res.manifest["files"][0]
    assert entry["sha256"] == hashlib.sha256(res.video.read_bytes()).hexdigest()
    assert main(["export", "verify", str(out)]) == 0
    data = bytearray(res.video.read_bytes())
    data[data.index(b"stsz") + 20] ^= 0x01  # one sample size, in the moov
    res.video.write_bytes(bytes(data))
    assert main(["export", "verify", str(out)]) == 1
    result = manifest.verify(out)
    assert not result.ok and "video.mp4" in result.problems[0]


@pytest.mark.parametrize("durable", [True, False])
def test_hashed_writer_across_blocks(tmp_path: Path, durable: bool) -> None:
    """Pieces and samples larger than a block, split across blocks, in order."""
    block = 4096
    src = bytes(range(256)) * 200  # 51,200 bytes "file"
    # samples of every size class: tiny, across one boundary, several blocks, exact
    offsets = array("q", [0, 100, 5000, 20_000, 40_000, 44_096])
    sizes = array("I", [7, 4_500, 14_000, 3 * block + 5, block, 1])
    out = tmp_path / "w.bin"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
    sink = mp4._HashedWriter(fd, durable=durable, blocks=2, block_bytes=block)
    sink.add(b"head" * 1500)  # 6,000 bytes: over a block
    sink.samples(src, offsets, sizes, 0, 4)  # any buffer: the export passes mmaps
    sink.add(b"subtitle")
    sink.samples(src, offsets, sizes, 4, 6)
    digest = sink.finish()
    os.close(fd)
    pieces = [src[o : o + n] for o, n in zip(offsets, sizes, strict=True)]
    expected = b"head" * 1500 + b"".join(pieces[:4]) + b"subtitle" + b"".join(pieces[4:])
    assert out.read_bytes() == expected and sink.written == len(expected)
    assert digest == hashlib.sha256(expected).hexdigest()


def test_gather_refuses_samples_outside_their_source() -> None:
    dst = bytearray(16)
    with pytest.raises(ValueError, match="outside"):
        gather(dst, 0, b"0123456789", array("q", [4]), array("I", [7]), 0, 1, 0)
    with pytest.raises(ValueError, match="outside"):
        gather(dst, 0, b"0123456789", array("q", [0]), array("I", [1]), 0, 2, 0)
    assert gather(dst, 14, b"0123456789", array("q", [2]), array("I", [5]), 0, 1, 0) == (0, 2, 16)
    assert dst[14:] == b"23"


def test_c_scan_matches_the_generic_parser(
    h264_units: list[tuple[bytes, int, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder layout read in C gives the same samples as the box-by-box parser."""
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 3)
    path = sorted((root / "1").iterdir())[0]
    fast = mp4.read_segment(path, 0)
    monkeypatch.setattr(mp4, "_recorder_run", lambda seg, data, pos, end, dts_raw: pos)
    slow = mp4.read_segment(path, 0)
    try:
        assert len(fast) == len(slow) > 0
        for name in ("dts", "duration", "size", "offset", "cts", "sync"):
            assert getattr(fast, name) == getattr(slow, name), name
        assert 0 in fast.sync and 1 in fast.sync and any(fast.cts)  # B-frames, GOP 1 s
    finally:
        fast.close()
        slow.close()


def test_increasing_raises_only_what_overlaps() -> None:
    t = np.array([5, 6, 6, 3, 10, 11], dtype=np.int64)
    assert list(mp4.strictly_increasing(t, -1)) == [5, 6, 7, 8, 10, 11]
    assert list(mp4.strictly_increasing(t, 8)) == [9, 10, 11, 12, 13, 14]
    assert list(mp4.strictly_increasing(np.array([0], dtype=np.int64), -1)) == [0]


def test_masked_hevc_source_becomes_painted_h264(tmp_path: Path) -> None:
    """An H.265 camera with a privacy mask: decoded, painted, encoded in H.264."""
    hevc_fmp4(tmp_path, 2, ":bframes=2")
    sel = mp4.select(segments(tmp_path), utc_to_ms(T0), utc_to_ms(T0 + timedelta(seconds=2)))
    assert sel is not None
    masks = parse_masks([{"label": "x", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}])
    masked = masked_selection(sel, masks, tmp_path)
    out = tmp_path / "out.mp4"
    try:
        assert masked.frames == sel.frames == 2 * FPS
        mp4.write_mp4(out, masked, subtitle=str, tags=mp4.Tags("t", "c"))
    finally:
        masked.close()
        sel.close()
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    assert len(frames) == 2 * FPS
    for g in frames:
        assert g[:, :156].max() <= 2 and g[:, 164:].mean() > 40


def test_masked_export_skips_a_damaged_sample(
    h264_units: list[tuple[bytes, int, int]], tmp_path: Path
) -> None:
    """A sample the decoder refuses loses its frame; the export goes on."""
    root = tmp_path / "rec"
    record_clip(root, h264_units, T0, 2)
    path = sorted((root / "1").iterdir())[0]
    seg = mp4.read_segment(path, int(path.stem))
    off, size = seg.offset[10], seg.size[10]
    seg.close()
    data = bytearray(path.read_bytes())
    data[off : off + size] = b"\xff" * size
    path.write_bytes(bytes(data))
    sel = mp4.select(segments(root), utc_to_ms(T0), utc_to_ms(T0 + timedelta(seconds=2)))
    assert sel is not None
    masks = parse_masks([{"points": [[0, 0], [0.5, 0], [0.5, 1]]}])
    masked = masked_selection(sel, masks, tmp_path)
    try:
        assert sel.frames - 3 <= masked.frames < sel.frames  # B-frames may lean on it
    finally:
        masked.close()
        sel.close()
