from __future__ import annotations

import io
import itertools
from pathlib import Path

import av
import pytest

from vigie.media import h264
from vigie.media.fmp4 import iter_boxes
from vigie.media.fragmenter import H264Fragmenter

FIXTURE = Path(__file__).parents[2] / "fixtures" / "testsrc_320x240_25fps_gop25_bf2.h264"


def access_units() -> list[tuple[bytes, int, int]]:
    """(annexb AU, pts_90k, dts_90k) from the fixture, 25 fps, B-frames."""
    out = []
    with av.open(str(FIXTURE)) as c:
        s = c.streams.video[0]
        for i, p in enumerate(c.demux(s)):
            if p.size == 0:
                continue
            out.append((bytes(p), i * 3600, i * 3600))
    return out


def build(
    frames: list[tuple[bytes, int, int]], frag: H264Fragmenter | None = None
) -> tuple[bytes, int]:
    frag = frag or H264Fragmenter()
    out = bytearray()
    n = 0
    for data, pts, dts in frames:
        init, f = frag.push(data, pts=pts, dts=dts, read_mono=0.0)
        if init is not None:
            out += init.data
        if f is not None:
            out += f.data
            n += 1
    return bytes(out), n


def test_fragments_decode_with_an_independent_reader() -> None:
    data, n = build(access_units())
    assert n == 50
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        frames = list(c.decode(video=0))
    assert len(frames) == 50


def test_boxes_are_well_formed() -> None:
    data, _ = build(access_units()[:3])
    kinds = [k for k, _, _ in iter_boxes(data)]
    assert kinds == [b"ftyp", b"moov", b"moof", b"mdat", b"moof", b"mdat", b"moof", b"mdat"]


def test_waits_for_a_keyframe() -> None:
    aus = access_units()
    frag = H264Fragmenter()
    frag.push(aus[0][0], pts=0, dts=0, read_mono=0)  # takes SPS/PPS + IDR
    frag.discontinuity()
    _, f = frag.push(aus[1][0], pts=3600, dts=3600, read_mono=0)
    assert f is None  # after a reconnect, nothing until the next IDR
    _, f = frag.push(aus[25][0], pts=90000, dts=90000, read_mono=0)
    assert f is not None and f.is_key


def test_timeline_continues_across_reconnect_and_backwards_jumps() -> None:
    aus = access_units()
    frag = H264Fragmenter()
    dts_out = []
    for data, pts, dts in aus[:25]:
        _, f = frag.push(data, pts=pts + 1_000_000, dts=dts + 1_000_000, read_mono=0)
        assert f is not None
        dts_out.append(f.dts_90k)
    assert dts_out[0] == 0
    frag.discontinuity()
    # The camera comes back with timestamps restarting at zero.
    for data, pts, dts in aus[25:50]:
        _, f = frag.push(data, pts=pts - 90000, dts=dts - 90000, read_mono=0)
        assert f is not None
        dts_out.append(f.dts_90k)
    deltas = {b - a for a, b in itertools.pairwise(dts_out)}
    assert deltas == {3600}


def test_new_init_on_resolution_change() -> None:
    aus = access_units()
    frag = H264Fragmenter()
    init, _ = frag.push(aus[0][0], pts=0, dts=0, read_mono=0)
    assert init is not None and init.width == 320
    assert frag.profile_name == "High"  # the fixture: x264 High profile
    sps_1080 = bytes.fromhex("6764002aacd940780227e5c04400000fa40003a9838f183196")
    pps = next(n for n in h264.split_annexb(aus[0][0]) if h264.nal_type(n) == h264.NAL_PPS)
    idr = next(n for n in h264.split_annexb(aus[0][0]) if h264.nal_type(n) == h264.NAL_IDR)
    au = b"".join(b"\x00\x00\x00\x01" + n for n in (sps_1080, pps, idr))
    init2, f = frag.push(au, pts=3600, dts=3600, read_mono=0)
    assert init2 is not None and (init2.width, init2.height) == (1920, 1080)
    assert f is not None and f.is_key


def test_malformed_sps_is_refused() -> None:
    frag = H264Fragmenter()
    with pytest.raises(ValueError):
        frag.push(b"\x00\x00\x00\x01\x67\x64", pts=0, dts=0, read_mono=0)


def test_c_packer_is_byte_identical_to_the_box_tree() -> None:
    """The C packer's moof+mdat equals the reference writer's, for key, B and P frames."""
    from vigie.media.fmp4 import Sample, media_segment

    aus = access_units()[:8]
    frag = H264Fragmenter()
    for data, pts, dts in aus:
        _, f = frag.push(data, pts=pts + 7200, dts=dts, read_mono=0)
        assert f is not None
        nals = [
            n
            for n in h264.split_annexb(data)
            if h264.nal_type(n) not in (h264.NAL_SPS, h264.NAL_PPS, h264.NAL_AUD)
        ]
        sample = Sample(h264.to_avcc(nals), f.duration_90k, f.is_key, 7200)
        seq = int.from_bytes(f.data[20:24], "big")
        assert f.data == media_segment(seq, f.dts_90k, [sample])
        assert f.payload_bytes == len(sample.data)


def test_length_framed_input_packs_like_annex_b() -> None:
    aus = access_units()[:5]
    a, _ = build(aus)
    framed = [(h264.to_avcc(h264.split_annexb(d)), p, t) for d, p, t in aus]
    b, _ = build(framed)
    assert a == b


def test_too_many_nal_units_is_refused_and_the_stream_recovers() -> None:
    aus = access_units()
    frag = H264Fragmenter()
    frag.push(aus[0][0], pts=0, dts=0, read_mono=0)
    with pytest.raises(ValueError, match="NAL units"):
        frag.push(b"\x00\x00\x01\x41\x01" * 300, pts=3600, dts=3600, read_mono=0)
    _, f = frag.push(aus[1][0], pts=7200, dts=7200, read_mono=0)
    assert f is not None


def test_a_good_sps_after_a_malformed_one_is_adopted() -> None:
    aus = access_units()
    frag = H264Fragmenter()
    with pytest.raises(ValueError):
        frag.push(b"\x00\x00\x00\x01\x67\x64", pts=0, dts=0, read_mono=0)
    init, f = frag.push(aus[0][0], pts=0, dts=0, read_mono=0)
    assert init is not None and init.width == 320
    assert f is not None and f.is_key


def test_length_framing_whose_first_length_looks_like_a_start_code() -> None:
    """A first NAL unit of 256-511 bytes: its length field reads 00 00 01 xx."""
    aus = access_units()[:3]
    a, _ = build(aus)
    framed = []
    for d, p, t in aus:
        nals = h264.split_annexb(d)
        sei = b"\x06\x05" + bytes(range(1, 255)) + b"\x80"  # 257 bytes, first
        framed.append((h264.to_avcc([sei, *nals]), p, t))
        assert framed[-1][0][:3] == b"\x00\x00\x01"
    b, n = build(framed)
    assert n == 3
    with av.open(io.BytesIO(b)) as c:
        assert len(list(c.decode(video=0))) == 3
    assert len(b) == len(a) + 3 * (4 + 257)
