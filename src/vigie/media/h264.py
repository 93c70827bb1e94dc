"""H.264 bitstream helpers: Annex B splitting, AVCC framing, SPS parsing.

Only what the live path needs: find NAL units, read the picture size and
profile from the SPS, build the ``avcC`` record and the RFC 6381 codec string.
"""

from __future__ import annotations

from dataclasses import dataclass

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def split_annexb(data: bytes) -> list[bytes]:
    """Split an Annex B byte stream on 3- or 4-byte start codes."""
    nals: list[bytes] = []
    n = len(data)
    i = data.find(b"\x00\x00\x01")
    if i < 0:
        return [data] if data else []
    start = i + 3
    while True:
        j = data.find(b"\x00\x00\x01", start)
        if j < 0:
            nal = data[start:n]
            if nal:
                nals.append(nal.rstrip(b"\x00") if nal.endswith(b"\x00") else nal)
            return nals
        end = j - 1 if data[j - 1] == 0 else j  # a 4-byte start code's leading zero
        if end > start:
            nals.append(data[start:end])
        start = j + 3


def is_annexb(data: bytes) -> bool:
    return data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01"


def split_avcc(data: bytes, length_size: int = 4) -> list[bytes]:
    """Split length-prefixed NAL units (MP4/AVCC framing)."""
    nals: list[bytes] = []
    i = 0
    while i + length_size <= len(data):
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        nals.append(data[i : i + size])
        i += size
    return nals


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F if nal else -1


def to_avcc(nals: list[bytes]) -> bytes:
    return b"".join(len(n).to_bytes(4, "big") + n for n in nals)


def unescape_rbsp(nal: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 → 00 00)."""
    if b"\x00\x00\x03" not in nal:
        return nal
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            v = (v << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


@dataclass(frozen=True, slots=True)
class SpsInfo:
    profile_idc: int
    constraint_flags: int
    level_idc: int
    width: int
    height: int

    @property
    def codec_string(self) -> str:
        return f"avc1.{self.profile_idc:02x}{self.constraint_flags:02x}{self.level_idc:02x}"

    @property
    def profile_name(self) -> str:
        return _PROFILE_NAMES.get(self.profile_idc, f"profile {self.profile_idc}")


_PROFILE_NAMES = {66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10"}


def parse_sps(nal: bytes) -> SpsInfo:
    """Parse an SPS NAL unit (with its one-byte header). Raises ValueError if malformed."""
    if nal_type(nal) != NAL_SPS:
        raise ValueError("not an SPS NAL unit")
    try:
        return _parse_sps(unescape_rbsp(nal[1:]))
    except IndexError as exc:
        raise ValueError("truncated SPS") from exc


def _parse_sps(rbsp: bytes) -> SpsInfo:
    r = _Bits(rbsp)
    profile = r.u(8)
    constraints = r.u(8)
    level = r.u(8)
    r.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    separate_colour_plane = 0
    if profile in HIGH_PROFILES:
        chroma_format_idc = r.ue()
        if chroma_format_idc == 3:
            separate_colour_plane = r.u(1)
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.u(1)  # qpprime_y_zero_transform_bypass_flag
        if r.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.u(1):
                    size = 16 if i < 6 else 64
                    last, nxt = 8, 8
                    for _ in range(size):
                        if nxt != 0:
                            nxt = (last + r.se() + 256) % 256
                        last = nxt if nxt != 0 else last
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.u(1)
    r.u(1)  # direct_8x8_inference_flag
    crop = (0, 0, 0, 0)
    if r.u(1):
        crop = (r.ue(), r.ue(), r.ue(), r.ue())
    if chroma_format_idc == 0 or separate_colour_plane:
        sub_w, sub_h = 1, 1
    else:
        sub_w = 1 if chroma_format_idc == 3 else 2
        sub_h = 2 if chroma_format_idc == 1 else 1
    crop_x = sub_w if chroma_format_idc else 1
    crop_y = sub_h * (2 - frame_mbs_only) if chroma_format_idc else 2 - frame_mbs_only
    width = width_mbs * 16 - (crop[0] + crop[1]) * crop_x
    height = (2 - frame_mbs_only) * height_units * 16 - (crop[2] + crop[3]) * crop_y
    if width <= 0 or height <= 0:
        raise ValueError("SPS gives an empty picture")
    return SpsInfo(profile, constraints, level, width, height)


def avcc_record(sps: bytes, pps: bytes) -> bytes:
    """AVCDecoderConfigurationRecord for one SPS and one PPS."""
    return (
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        + len(sps).to_bytes(2, "big")
        + sps
        + b"\x01"
        + len(pps).to_bytes(2, "big")
        + pps
    )
