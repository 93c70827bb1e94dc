"""Turns demuxed H.264 access units into fMP4: one init segment per codec
configuration and one media fragment per frame, on a continuous 90 kHz timeline.

Runs in the ingest thread (cheap: no decoding, a few struct packs per frame).
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.media import h264
from vigie.media.fmp4 import (
    ONE_SAMPLE_HEADER_BYTES,
    TIMESCALE_90K,
    init_segment,
    one_sample_segment,
)

MAX_JUMP_90K = 10 * TIMESCALE_90K  # a timestamp jump beyond this is a discontinuity


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
    def __init__(self, *, default_duration_90k: int = TIMESCALE_90K // 25) -> None:
        self._default_duration = default_duration_90k
        self._sps: bytes | None = None
        self._pps: bytes | None = None
        self._init: InitInfo | None = None
        self._offset: int | None = None
        self._last_out: int | None = None
        self._last_duration = default_duration_90k
        self._sequence = 0
        self._need_key = True
        self.sps_info: h264.SpsInfo | None = None

    @property
    def init(self) -> InitInfo | None:
        return self._init

    def set_extradata(self, extradata: bytes | None) -> None:
        """Take SPS/PPS from the demuxer's extradata (Annex B or avcC)."""
        if not extradata:
            return
        if h264.is_annexb(extradata):
            nals = h264.split_annexb(extradata)
        elif extradata[0] == 1 and len(extradata) > 8:
            nals = _nals_from_avcc_record(extradata)
        else:
            return
        for nal in nals:
            self._take_parameter_set(nal)

    def discontinuity(self) -> None:
        """The source restarted (reconnect): re-base its timestamps after the last frame."""
        self._offset = None
        self._need_key = True

    def push(
        self, data: bytes, *, pts: int | None, dts: int | None, read_mono: float
    ) -> tuple[InitInfo | None, Fragment | None]:
        """Feed one access unit (Annex B, 90 kHz timestamps).

        Returns a new init segment when the codec configuration changed, and the
        fragment for this frame (None while waiting for parameter sets or a keyframe).
        """
        nals = h264.split_annexb(data) if h264.is_annexb(data) else h264.split_avcc(data)
        samples: list[bytes] = []
        is_key = False
        changed = False
        for nal in nals:
            kind = h264.nal_type(nal)
            if kind in (h264.NAL_SPS, h264.NAL_PPS):
                changed |= self._take_parameter_set(nal)
            elif kind == h264.NAL_AUD:
                continue
            else:
                if kind == h264.NAL_IDR:
                    is_key = True
                samples.append(nal)
        new_init: InitInfo | None = None
        if (changed or self._init is None) and self._sps and self._pps:
            info = h264.parse_sps(self._sps)
            self.sps_info = info
            self._init = InitInfo(
                data=init_segment(
                    width=info.width,
                    height=info.height,
                    avcc=h264.avcc_record(self._sps, self._pps),
                ),
                codec_string=info.codec_string,
                width=info.width,
                height=info.height,
            )
            new_init = self._init
            self._need_key = True
        if self._init is None or not samples:
            return new_init, None
        if self._need_key and not is_key:
            return new_init, None
        self._need_key = False

        src_dts = dts if dts is not None else pts
        if src_dts is None:
            src_dts = (self._last_out or 0) + self._last_duration - (self._offset or 0)
        out = self._place(src_dts)
        cts = (pts - dts) if (pts is not None and dts is not None and pts >= dts) else 0
        duration = self._last_duration
        self._sequence += 1
        parts: list[bytes] = []
        for nal in samples:  # AVCC framing, joined once with the boxes
            parts.append(len(nal).to_bytes(4, "big"))
            parts.append(nal)
        data = one_sample_segment(self._sequence, out, duration, is_key, cts, parts)
        frag = Fragment(
            data=data,
            is_key=is_key,
            dts_90k=out,
            duration_90k=duration,
            read_mono=read_mono,
            payload_bytes=len(data) - ONE_SAMPLE_HEADER_BYTES,
        )
        return new_init, frag

    def _place(self, src_dts: int) -> int:
        """Map a source DTS onto the continuous output timeline."""
        if self._offset is None:
            start = 0 if self._last_out is None else self._last_out + self._last_duration
            self._offset = start - src_dts
        out = src_dts + self._offset
        if self._last_out is not None:
            delta = out - self._last_out
            if delta <= 0 or delta > MAX_JUMP_90K:
                # Backwards or wild jump inside one session: keep the timeline continuous.
                self._offset += self._last_out + self._last_duration - out
                out = self._last_out + self._last_duration
            else:
                self._last_duration = delta
        self._last_out = out
        return out

    def _take_parameter_set(self, nal: bytes) -> bool:
        kind = h264.nal_type(nal)
        if kind == h264.NAL_SPS:
            if nal != self._sps:
                h264.parse_sps(nal)  # refuse a malformed SPS before adopting it
                self._sps = nal
                return True
        elif kind == h264.NAL_PPS and nal != self._pps:
            self._pps = nal
            return True
        return False


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
