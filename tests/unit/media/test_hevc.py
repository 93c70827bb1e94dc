"""H.265: NAL types, SPS, hvcC and codec string against FFmpeg's own output
(libx265 encodes, FFmpeg's mp4 muxer writes the reference hvcC), and our fMP4
decoded by an independent reader (PyAV)."""

from __future__ import annotations

import hashlib
import io
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest

from vigie.media import h264, hevc
from vigie.media.fmp4 import iter_boxes
from vigie.media.fragmenter import FRAGMENTERS, HevcFragmenter
from vigie.media.playback import codec_of, mime_of

# (pixel format, expected profile_idc, chroma_format_idc, bit depth): Main, Main 10, RExt 4:2:2
FORMATS = [("yuv420p", 1, 1, 8), ("yuv420p10le", 2, 1, 10), ("yuv422p", 4, 2, 8)]
WIDTH, HEIGHT = 322, 242  # not multiples of 8: the SPS carries a conformance window
FRAMES = 30


@dataclass
class Clip:
    path: Path
    hvcc: bytes  # what FFmpeg's mp4 muxer wrote
    packets: list[tuple[bytes, int, int, bool]]  # (Annex B AU, pts 90k, dts 90k, key)
    extradata: bytes


def _find_box(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> bytes:
    for kind, a, b in iter_boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return data[a:b]
            skip = {b"stsd": 8, b"hvc1": 78}.get(kind, 0)
            return _find_box(data, path[1:], a + skip, b)
    raise KeyError(path[0])


def encode(out: Path, pix_fmt: str = "yuv420p") -> Clip:
    """A libx265 clip in an mp4 written by FFmpeg; its packets in Annex B, as cameras send."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=s={WIDTH}x{HEIGHT}:r=25", "-frames:v", str(FRAMES),
         "-pix_fmt", pix_fmt, "-c:v", "libx265",
         "-x265-params", "log-level=error:keyint=10:min-keyint=10:bframes=2",
         "-tag:v", "hvc1", str(out)],
        check=True,
    )  # fmt: skip
    data = out.read_bytes()
    hvcc = _find_box(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"hvc1", b"hvcC"])
    packets = []
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        extradata = bytes(s.codec_context.extradata or b"")
        assert s.time_base is not None
        scale = s.time_base * 90_000

        def to90k(v: int | None) -> int:
            assert v is not None
            return int(Fraction(v) * scale)

        for p in c.demux(s):
            if p.size:
                annexb = b"".join(b"\x00\x00\x00\x01" + n for n in h264.split_avcc(bytes(p)))
                packets.append((annexb, to90k(p.pts), to90k(p.dts), p.is_keyframe))
    return Clip(out, hvcc, packets, extradata)


def hevc_annexb_clip(out: Path) -> list[tuple[bytes, int, int, bool]]:
    """(AU, pts, dts, key) of a Main-profile clip, parameter sets before each keyframe."""
    return _with_parameter_sets_in_band(encode(out))


@pytest.fixture(scope="module", params=FORMATS, ids=[f[0] for f in FORMATS])
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Clip:
    pix_fmt = request.param[0]
    return encode(tmp_path_factory.mktemp("hevc") / f"{pix_fmt}.mp4", pix_fmt)


def _parameter_sets(clip: Clip) -> tuple[bytes, bytes, bytes]:
    nals = {hevc.nal_type(n): n for n in hevc.nals_from_hvcc(clip.hvcc)}
    return nals[hevc.NAL_VPS], nals[hevc.NAL_SPS], nals[hevc.NAL_PPS]


def test_nal_types_and_keyframes_agree_with_ffmpeg(clip: Clip) -> None:
    keys = []
    for data, _, _, is_key in clip.packets:
        types = [hevc.nal_type(n) for n in h264.split_annexb(data)]
        assert all(0 <= t < 64 for t in types)
        keys.append(any(t in hevc.IRAP_TYPES for t in types))
        assert keys[-1] == is_key, types
    assert sum(keys) == FRAMES // 10


def test_sps_gives_size_profile_and_depths(clip: Clip) -> None:
    _, profile, chroma, depth = next(f for f in FORMATS if f[0] == clip.path.stem)
    info = hevc.parse_sps(_parameter_sets(clip)[1])
    with av.open(str(clip.path)) as c:
        ctx = c.streams.video[0].codec_context
        assert (info.width, info.height) == (ctx.width, ctx.height) == (WIDTH, HEIGHT)
    assert info.ptl.profile_idc == profile
    assert info.chroma_format_idc == chroma
    assert info.bit_depth_luma == info.bit_depth_chroma == depth


def test_hvcc_is_the_one_ffmpeg_writes(clip: Clip) -> None:
    vps, sps, pps = _parameter_sets(clip)
    mine = hevc.hvcc_record(vps, sps, pps)
    ref = clip.hvcc
    # Same 22-byte header (profile/tier/level, flags, chroma, depths, layers, lengths) …
    assert mine[:22] == ref[:22]
    # … and the same VPS, SPS and PPS arrays (complete); FFmpeg also copies the
    # encoder's SEI from its extradata into a fourth array, which we carry in band.
    arrays_ref = _arrays(ref)
    arrays_mine = _arrays(mine)
    assert [a for a in arrays_ref if a[0] & 0x3F in hevc.PARAMETER_SET_TYPES] == arrays_mine
    assert all(a[0] & 0x3F == hevc.NAL_SEI_PREFIX for a in arrays_ref[3:])
    assert [a[0] for a in arrays_mine] == [0x80 | 32, 0x80 | 33, 0x80 | 34]


def _arrays(record: bytes) -> list[tuple[int, list[bytes]]]:
    out = []
    pos = 23
    for _ in range(record[22]):
        head, count = record[pos], int.from_bytes(record[pos + 1 : pos + 3], "big")
        pos += 3
        nals = []
        for _ in range(count):
            size = int.from_bytes(record[pos : pos + 2], "big")
            nals.append(record[pos + 2 : pos + 2 + size])
            pos += 2 + size
        out.append((head, nals))
    assert pos == len(record)
    return out


def test_codec_string_follows_iso_14496_15_annex_e() -> None:
    # The two examples of Annex E.3: Main, level 3.1, progressive/non-packed/frame-only …
    main = bytes([1, 0x01]) + (0x60000000).to_bytes(4, "big") + bytes([0xB0, 0, 0, 0, 0, 0, 93])
    assert hevc.codec_string(main + bytes(10)) == "hvc1.1.6.L93.B0"
    # … and profile space 1, profile 4, high tier, level 4, two constraint bytes.
    rext = bytes([1, 0x40 | 0x20 | 4]) + (0x82000000).to_bytes(4, "big")
    rext += bytes([0xB0, 0x23, 0, 0, 0, 0, 120])
    assert hevc.codec_string(rext + bytes(10)) == "hvc1.A4.41.H120.B0.23"


def test_codec_string_of_a_real_stream(clip: Clip) -> None:
    _, profile, _, _ = next(f for f in FORMATS if f[0] == clip.path.stem)
    text = hevc.codec_string(clip.hvcc)
    # compatibility flag of its own profile set (bit-reversed), level 2 (60), progressive
    parts = text.split(".")
    assert parts[0] == "hvc1" and parts[1] == str(profile)
    assert int(parts[2], 16) & (1 << profile)
    assert parts[3] == "L60" and int(parts[4], 16) & 0x80


def _build(frag: HevcFragmenter, packets: list[tuple[bytes, int, int, bool]]) -> tuple[bytes, int]:
    out = bytearray()
    n = 0
    for data, pts, dts, _ in packets:
        init, f = frag.push(data, pts=pts, dts=dts, read_mono=0.0)
        if init is not None:
            out += init.data
        if f is not None:
            out += f.data
            n += 1
    return bytes(out), n


def _decoded(source: str | io.BytesIO) -> list[tuple[int, int, str]]:
    with av.open(source) as c:
        return [
            (f.width, f.height, hashlib.sha1(bytes(f.planes[0])).hexdigest())
            for f in c.decode(video=0)
        ]


def _with_parameter_sets_in_band(clip: Clip) -> list[tuple[bytes, int, int, bool]]:
    """Each keyframe preceded by VPS, SPS and PPS, as cameras send them."""
    params = b"".join(b"\x00\x00\x00\x01" + n for n in _parameter_sets(clip))
    return [(params + d if k else d, pts, dts, k) for d, pts, dts, k in clip.packets]


def test_fmp4_decodes_to_the_same_pictures_as_ffmpeg_s_file(clip: Clip) -> None:
    frag = FRAGMENTERS["hevc"]()
    assert isinstance(frag, HevcFragmenter)
    data, n = _build(frag, _with_parameter_sets_in_band(clip))
    assert n == FRAMES
    init = frag.init
    assert init is not None and (init.width, init.height) == (WIDTH, HEIGHT)
    assert init.codec_string == hevc.codec_string(clip.hvcc)
    assert init.mime == mime_of(init.data) and codec_of(init.data) == "hevc"
    # what the stream's stats show: "Main", "Main 10", "Format range extensions"…
    assert frag.profile_name == hevc.parse_sps(_parameter_sets(clip)[1]).profile_name
    assert frag.profile_name is not None and not frag.profile_name.startswith("hvc1")
    kinds = [k for k, _, _ in iter_boxes(data)]
    assert kinds[:4] == [b"ftyp", b"moov", b"moof", b"mdat"]
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "hevc"
        assert s.codec_tag == "hvc1"
    assert _decoded(io.BytesIO(data)) == _decoded(str(clip.path))


def test_parameter_sets_from_the_hvcc_extradata(clip: Clip) -> None:
    """Parameter sets only in the container's hvcC (none in band): the init still comes."""
    assert not any(
        hevc.nal_type(n) in hevc.PARAMETER_SET_TYPES
        for d, _, _, _ in clip.packets
        for n in h264.split_annexb(d)
    )
    assert _build(HevcFragmenter(), clip.packets)[1] == 0  # nothing without them
    frag = HevcFragmenter()
    frag.set_extradata(clip.extradata)
    data, n = _build(frag, clip.packets)
    assert n == FRAMES
    assert _decoded(io.BytesIO(data)) == _decoded(str(clip.path))


def test_malformed_parameter_sets_are_refused(clip: Clip) -> None:
    vps, sps, _ = _parameter_sets(clip)
    with pytest.raises(ValueError):
        hevc.parse_sps(sps[:6])
    with pytest.raises(ValueError):
        hevc.parse_vps(vps[:5])
    with pytest.raises(ValueError):
        hevc.parse_sps(vps)
    with pytest.raises(ValueError):
        hevc.nals_from_hvcc(clip.hvcc[:30])
    frag = HevcFragmenter()
    first = _with_parameter_sets_in_band(clip)[0][0]
    broken = b"".join(
        b"\x00\x00\x00\x01" + (n[:6] if hevc.nal_type(n) == hevc.NAL_SPS else n)
        for n in h264.split_annexb(first)
    )
    with pytest.raises(ValueError):
        frag.push(broken, pts=0, dts=0, read_mono=0.0)
    assert frag.init is None
    # the next good access unit with its parameter sets recovers
    init, f = frag.push(first, pts=0, dts=0, read_mono=0.0)
    assert init is not None and f is not None and f.is_key
