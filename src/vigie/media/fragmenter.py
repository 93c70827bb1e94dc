"""Turns demuxed access units into fMP4: one init segment per codec
configuration and one media fragment per frame, on a continuous 90 kHz timeline.

The per-frame work (NAL split, length framing, timeline, moof/mdat) is done by
the C packer ``vigie.media._fastpath.Packer``, which the C reader also calls
without the GIL; this module builds the init segment when the parameter sets
change (rare) and wraps the results.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.media import h264, hevc
from vigie.media._fastpath import Packer
from vigie.media.fmp4 import TIMESCALE_90K, init_segment

# (moof+mdat, is key, dts 90 kHz, duration 90 kHz, payload bytes), as the C packer returns it
PackedFragment = tuple[bytes, bool, int, int, int]


@dataclass(frozen=True, slots=True)
class InitInfo:
    data: bytes
    codec_string: str
    width: int
    height: int

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{self.codec_string}"'


@dataclass(frozen=True, slots=True)
class Fragment:
    data: bytes  # moof + mdat
    is_key: bool
    dts_90k: int
    duration_90k: int
    read_mono: float  # monotonic instant the packet was read from the camera
    payload_bytes: int


class H264Fragmenter:
    """One stream's fragmenter; survives reconnections (the timeline continues).

    The codec-specific part is ``codec`` (the C packer's NAL rules) and the three
    hooks at the end: ``HevcFragmenter`` overrides only those.
    """

    codec = "h264"

    def __init__(self, *, default_duration_90k: int = TIMESCALE_90K // 25) -> None:
        self.packer = Packer(self.codec, default_duration_90k)
        self._init: InitInfo | None = None
        self.sps_info: h264.SpsInfo | None = None

    @property
    def init(self) -> InitInfo | None:
        return self._init

    @property
    def profile_name(self) -> str | None:
        """The stream's profile in words ("High", "Main 10"…), once known."""
        return None if self.sps_info is None else self.sps_info.profile_name

    def set_extradata(self, extradata: bytes | None) -> None:
        """Take the parameter sets from the demuxer's extradata (Annex B or avcC)."""
        if not extradata:
            return
        if h264.is_annexb(extradata):
            nals = h264.split_annexb(extradata)
        elif extradata[0] == 1 and len(extradata) > 8:
            nals = self._nals_from_record(extradata)
        else:
            return
        for nal in nals:
            self._check_parameter_set(nal)  # refuse a malformed one before adopting it
            self.packer.take_parameter_set(nal)

    def discontinuity(self) -> None:
        """The source restarted (reconnect): re-base its timestamps after the last frame."""
        self.packer.discontinuity()

    def push(
        self, data: bytes, *, pts: int | None, dts: int | None, read_mono: float
    ) -> tuple[InitInfo | None, Fragment | None]:
        """Feed one access unit (Annex B or 4-byte lengths, 90 kHz timestamps).

        Returns a new init segment when the codec configuration changed, and the
        fragment for this frame (None while waiting for parameter sets or a keyframe).
        """
        params, frag = self.packer.push(data, pts, dts)
        return self.finish(params, frag, read_mono)

    def finish(
        self, params: tuple[bytes | None, ...] | None, frag: PackedFragment | None, read_mono: float
    ) -> tuple[InitInfo | None, Fragment | None]:
        """Wrap what the packer returned (here or from the C reader)."""
        new_init = None
        if params is not None:  # new parameter sets: check them, build the init once complete
            try:
                for nal in params:
                    if nal is not None:
                        self._check_parameter_set(nal)
                if None not in params:
                    new_init = self._init = self._build_init(params)
            except ValueError:
                self.packer.forget_parameters()
                self._init = None
                raise
        if frag is None:
            return new_init, None
        data, is_key, dts_90k, duration_90k, payload = frag
        return new_init, Fragment(data, is_key, dts_90k, duration_90k, read_mono, payload)

    # --- codec-specific: H.264 --------------------------------------------------------

    def _check_parameter_set(self, nal: bytes) -> None:
        if h264.nal_type(nal) == h264.NAL_SPS:
            h264.parse_sps(nal)

    def _build_init(self, params: tuple[bytes | None, ...]) -> InitInfo:
        sps, pps = params
        assert sps is not None and pps is not None
        info = h264.parse_sps(sps)
        self.sps_info = info
        return InitInfo(
            data=init_segment(
                width=info.width, height=info.height, avcc=h264.avcc_record(sps, pps)
            ),
            codec_string=info.codec_string,
            width=info.width,
            height=info.height,
        )

    @staticmethod
    def _nals_from_record(record: bytes) -> list[bytes]:
        return _nals_from_avcc_record(record)


class HevcFragmenter(H264Fragmenter):
    """H.265: same packer and timeline (``Packer("hevc")`` classifies VPS/SPS/PPS,
    AUD and IRAP keyframes), an ``hvc1``/``hvcC`` init segment."""

    codec = "hevc"

    def __init__(self, *, default_duration_90k: int = TIMESCALE_90K // 25) -> None:
        super().__init__(default_duration_90k=default_duration_90k)
        self.hevc_sps_info: hevc.HevcSpsInfo | None = None

    @property
    def profile_name(self) -> str | None:
        return None if self.hevc_sps_info is None else self.hevc_sps_info.profile_name

    def _check_parameter_set(self, nal: bytes) -> None:
        kind = hevc.nal_type(nal)
        if kind == hevc.NAL_SPS:
            hevc.parse_sps(nal)
        elif kind == hevc.NAL_VPS:
            hevc.parse_vps(nal)

    def _build_init(self, params: tuple[bytes | None, ...]) -> InitInfo:
        vps, sps, pps = params
        assert vps is not None and sps is not None and pps is not None
        info = hevc.parse_sps(sps)
        self.hevc_sps_info = info
        record = hevc.hvcc_record(vps, sps, pps)
        return InitInfo(
            data=init_segment(width=info.width, height=info.height, hvcc=record),
            codec_string=hevc.codec_string(record),
            width=info.width,
            height=info.height,
        )

    @staticmethod
    def _nals_from_record(record: bytes) -> list[bytes]:
        return hevc.nals_from_hvcc(record)


# The codecs that are fragmented (and so recorded), with their fragmenter.
FRAGMENTERS: dict[str, type[H264Fragmenter]] = {"h264": H264Fragmenter, "hevc": HevcFragmenter}


def _nals_from_avcc_record(record: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 5
    count = record[pos] & 0x1F
    pos += 1
    for _ in range(count):
        size = int.from_bytes(record[pos : pos + 2], "big")
        out.append(record[pos + 2 : pos + 2 + size])
        pos += 2 + size
    count = record[pos]
    pos += 1
    for _ in range(count):
        size = int.from_bytes(record[pos : pos + 2], "big")
        out.append(record[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return out
