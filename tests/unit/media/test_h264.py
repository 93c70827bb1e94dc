from __future__ import annotations

from pathlib import Path

import pytest

from vigie.media import h264

FIXTURE = Path(__file__).parents[2] / "fixtures" / "testsrc_320x240_25fps_gop25_bf2.h264"


def test_split_annexb_handles_3_and_4_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\xaa\xbb\x00\x00\x01\x68\xcc\x00\x00\x00\x01\x65\x01\x02"
    assert h264.split_annexb(data) == [b"\x67\xaa\xbb", b"\x68\xcc", b"\x65\x01\x02"]


def test_avcc_round_trip() -> None:
    nals = [b"\x65\x01\x02\x03", b"\x06\x05"]
    assert h264.split_avcc(h264.to_avcc(nals)) == nals


def test_unescape_rbsp_removes_emulation_prevention() -> None:
    assert h264.unescape_rbsp(b"\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x00\x00\x01\x00\x00\x00"


def test_parse_sps_of_real_stream() -> None:
    nals = h264.split_annexb(FIXTURE.read_bytes()[:4000])
    sps = next(n for n in nals if h264.nal_type(n) == h264.NAL_SPS)
    info = h264.parse_sps(sps)
    assert (info.width, info.height) == (320, 240)
    assert info.profile_idc == 100
    assert info.codec_string.startswith("avc1.64")


def test_parse_sps_with_cropping_1080p() -> None:
    # x264 1920x1080 High profile SPS: 68 macroblock rows, cropped by 8 lines.
    sps = bytes.fromhex("6764002aacd940780227e5c04400000fa40003a9838f183196")
    info = h264.parse_sps(sps)
    assert (info.width, info.height) == (1920, 1080)


def test_parse_sps_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        h264.parse_sps(b"\x67")
    with pytest.raises(ValueError):
        h264.parse_sps(b"\x68\x00")
