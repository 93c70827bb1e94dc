"""H.265 (HEVC) bitstream helpers: NAL types, VPS/SPS parsing, ``hvcC``, codec string.

Only what recording needs: classify NAL units (2-byte header), read the
picture size (conformance window), profile/tier/level, chroma format and bit
depths from the SPS, build the ``hvcC`` record (ISO/IEC 14496-15 §8.3.3,
HEVCDecoderConfigurationRecord) and the RFC 6381 codec string ``hvc1.…``
(ISO/IEC 14496-15 Annex E). The per-packet work (NAL split, framing,
timeline) is done by the C packer with ``Packer("hevc")``.

The SPS is read up to the bit depths only: ``min_spatial_segmentation_idc``
(VUI) and ``parallelismType`` (PPS) are written as 0, which the record defines
as "unknown / not indicated" and which is what FFmpeg writes for streams whose
SPS has no bitstream restriction (x265's default).
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.media.h264 import _Bits, unescape_rbsp

NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34
NAL_AUD = 35
NAL_SEI_PREFIX = 39
NAL_SEI_SUFFIX = 40
IRAP_TYPES = range(16, 24)  # BLA, IDR, CRA and reserved IRAP: random access points
PARAMETER_SET_TYPES = (NAL_VPS, NAL_SPS, NAL_PPS)

_PROFILE_NAMES = {1: "Main", 2: "Main 10", 3: "Main Still Picture", 4: "Range Extensions"}


def nal_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F if nal else -1


def is_keyframe_nal(nal: bytes) -> bool:
    return nal_type(nal) in IRAP_TYPES


@dataclass(frozen=True, slots=True)
class ProfileTierLevel:
    profile_space: int
    tier_flag: int
    profile_idc: int
    compatibility_flags: int  # 32 bits, flag j at bit 31 - j
    constraint_flags: int  # 48 bits
    level_idc: int


@dataclass(frozen=True, slots=True)
class HevcSpsInfo:
    ptl: ProfileTierLevel
    max_sub_layers: int
    temporal_id_nesting: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int

    @property
    def profile_name(self) -> str:
        return _PROFILE_NAMES.get(self.ptl.profile_idc, f"profile {self.ptl.profile_idc}")


@dataclass(frozen=True, slots=True)
class HevcVpsInfo:
    ptl: ProfileTierLevel
    max_sub_layers: int


def _profile_tier_level(r: _Bits, max_sub_layers_minus1: int) -> ProfileTierLevel:
    profile_space = r.u(2)
    tier = r.u(1)
    profile_idc = r.u(5)
    compat = r.u(32)
    constraints = r.u(48)
    level = r.u(8)
    profile_present = []
    level_present = []
    for _ in range(max_sub_layers_minus1):
        profile_present.append(r.u(1))
        level_present.append(r.u(1))
    if max_sub_layers_minus1 > 0:
        for _ in range(max_sub_layers_minus1, 8):
            r.u(2)  # reserved_zero_2bits
    for i in range(max_sub_layers_minus1):
        if profile_present[i]:
            r.u(88)
        if level_present[i]:
            r.u(8)
    return ProfileTierLevel(profile_space, tier, profile_idc, compat, constraints, level)


def _rbsp(nal: bytes, expected: int, name: str) -> bytes:
    if nal_type(nal) != expected or len(nal) < 3:
        raise ValueError(f"not an H.265 {name} NAL unit")
    return unescape_rbsp(nal[2:])


def parse_vps(nal: bytes) -> HevcVpsInfo:
    """Parse a VPS NAL unit (with its 2-byte header) up to its profile/tier/level."""
    r = _Bits(_rbsp(nal, NAL_VPS, "VPS"))
    try:
        r.u(4)  # vps_video_parameter_set_id
        r.u(2)  # base layer internal / available flags
        r.u(6)  # vps_max_layers_minus1
        sub_minus1 = r.u(3)
        r.u(1)  # vps_temporal_id_nesting_flag
        r.u(16)  # vps_reserved_0xffff_16bits
        ptl = _profile_tier_level(r, sub_minus1)
    except IndexError as exc:
        raise ValueError("truncated H.265 VPS") from exc
    return HevcVpsInfo(ptl, sub_minus1 + 1)


def parse_sps(nal: bytes) -> HevcSpsInfo:
    """Parse an SPS NAL unit (with its 2-byte header). Raises ValueError if malformed."""
    r = _Bits(_rbsp(nal, NAL_SPS, "SPS"))
    try:
        r.u(4)  # sps_video_parameter_set_id
        sub_minus1 = r.u(3)
        nesting = r.u(1)
        ptl = _profile_tier_level(r, sub_minus1)
        r.ue()  # sps_seq_parameter_set_id
        chroma = r.ue()
        if chroma > 3:
            raise ValueError(f"H.265 SPS: chroma_format_idc {chroma}")
        separate_planes = r.u(1) if chroma == 3 else 0
        pic_w = r.ue()
        pic_h = r.ue()
        left = right = top = bottom = 0
        if r.u(1):  # conformance_window_flag
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        depth_luma = r.ue() + 8
        depth_chroma = r.ue() + 8
    except IndexError as exc:
        raise ValueError("truncated H.265 SPS") from exc
    if chroma == 0 or separate_planes:
        sub_w = sub_h = 1
    else:
        sub_w = 1 if chroma == 3 else 2
        sub_h = 2 if chroma == 1 else 1
    width = pic_w - sub_w * (left + right)
    height = pic_h - sub_h * (top + bottom)
    if width <= 0 or height <= 0 or depth_luma > 16 or depth_chroma > 16:
        raise ValueError("H.265 SPS gives an empty picture or an impossible bit depth")
    return HevcSpsInfo(
        ptl=ptl,
        max_sub_layers=sub_minus1 + 1,
        temporal_id_nesting=nesting,
        chroma_format_idc=chroma,
        bit_depth_luma=depth_luma,
        bit_depth_chroma=depth_chroma,
        width=width,
        height=height,
    )


def _merge_ptl(a: ProfileTierLevel, b: ProfileTierLevel) -> ProfileTierLevel:
    """What the record declares for the VPS and SPS together (as ISO/IEC 14496-15 asks:
    the highest tier, profile and level; flags set only where both set them)."""
    return ProfileTierLevel(
        profile_space=b.profile_space,
        tier_flag=max(a.tier_flag, b.tier_flag),
        profile_idc=max(a.profile_idc, b.profile_idc),
        compatibility_flags=a.compatibility_flags & b.compatibility_flags,
        constraint_flags=a.constraint_flags & b.constraint_flags,
        level_idc=max(a.level_idc, b.level_idc),
    )


def hvcc_record(vps: bytes, sps: bytes, pps: bytes) -> bytes:
    """HEVCDecoderConfigurationRecord for one VPS, SPS and PPS (array_completeness = 1,
    4-byte NAL lengths in the samples)."""
    v = parse_vps(vps)
    s = parse_sps(sps)
    ptl = _merge_ptl(v.ptl, s.ptl)
    layers = max(v.max_sub_layers, s.max_sub_layers)
    out = bytearray()
    out.append(1)  # configurationVersion
    out.append((ptl.profile_space << 6) | (ptl.tier_flag << 5) | ptl.profile_idc)
    out += ptl.compatibility_flags.to_bytes(4, "big")
    out += ptl.constraint_flags.to_bytes(6, "big")
    out.append(ptl.level_idc)
    out += (0xF000 | 0).to_bytes(2, "big")  # reserved + min_spatial_segmentation_idc
    out.append(0xFC | 0)  # reserved + parallelismType (unknown)
    out.append(0xFC | s.chroma_format_idc)
    out.append(0xF8 | (s.bit_depth_luma - 8))
    out.append(0xF8 | (s.bit_depth_chroma - 8))
    out += (0).to_bytes(2, "big")  # avgFrameRate: not indicated
    # constantFrameRate (0) | numTemporalLayers | temporalIdNested | lengthSizeMinusOne (3)
    out.append((layers << 3) | (s.temporal_id_nesting << 2) | 3)
    out.append(3)  # numOfArrays
    for nal in (vps, sps, pps):
        out.append(0x80 | nal_type(nal))  # array_completeness = 1
        out += (1).to_bytes(2, "big")
        out += len(nal).to_bytes(2, "big") + nal
    return bytes(out)


def nals_from_hvcc(record: bytes) -> list[bytes]:
    """Every NAL unit of an ``hvcC`` record's arrays (parameter sets, SEI)."""
    if len(record) < 23 or record[0] != 1:
        raise ValueError("not an HEVCDecoderConfigurationRecord")
    out: list[bytes] = []
    pos = 23
    for _ in range(record[22]):
        if pos + 3 > len(record):
            raise ValueError("hvcC record cut short")
        count = int.from_bytes(record[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            size = int.from_bytes(record[pos : pos + 2], "big")
            if pos + 2 + size > len(record):
                raise ValueError("hvcC record cut short")
            out.append(record[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return out


def codec_string(record: bytes) -> str:
    """RFC 6381 ``codecs`` value of an ``hvcC`` record (ISO/IEC 14496-15 Annex E.3):
    ``hvc1.[A|B|C]<profile>.<compatibility, bit-reversed hex>.<L|H><level>.<constraints>``."""
    if len(record) < 23:
        raise ValueError("not an HEVCDecoderConfigurationRecord")
    space = record[1] >> 6
    tier = (record[1] >> 5) & 1
    profile = record[1] & 0x1F
    compat = int.from_bytes(record[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(record[6:12])
    while len(constraints) > 1 and constraints[-1] == 0:
        constraints.pop()  # trailing zero bytes are omitted
    parts = [
        f"hvc1.{('', 'A', 'B', 'C')[space]}{profile}",
        f"{reversed_compat:x}",
        f"{'H' if tier else 'L'}{record[12]}",
        *(f"{c:X}" for c in constraints),
    ]
    return ".".join(parts)
