"""Privacy masks painted into an export (CSI L251-3).

Recordings are stream copies of what the camera sends; a camera with privacy
masks is exported by decoding every frame of the selection, painting the
masked areas black and encoding again in H.264 (libx264, ``veryfast``, CRF
18, no B-frames, a keyframe wherever the source had one). The result is a
``Selection`` of one in-memory segment at the same instants (gaps keep their
length), so ``mp4writer`` writes it exactly like a stream-copy export:
faststart, subtitles, metadata, hash. Costly (a full decode and encode), but
only for masked cameras, and off the event loop like every export.
"""

from __future__ import annotations

import logging
import mmap
import os
from array import array
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType, VideoFrame

from vigie.domain.masks import Mask, PixelMask, paint_yuv420
from vigie.media.fmp4 import TIMESCALE_90K, init_segment, iter_boxes
from vigie.media.h264 import NAL_AUD, NAL_PPS, NAL_SPS, avcc_record, nal_type, split_annexb
from vigie.recording import mp4writer as mp4

ENCODER = "libx264"
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "18", "forced-idr": "1"}
log = logging.getLogger(__name__)
_TICK_90K = TIMESCALE_90K // 25
_DECODERS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc"}


def _decoder(stsd: bytes) -> av.VideoCodecContext:
    """A decoder for a sample description (``stsd`` box): codec and its
    configuration record (avcC/hvcC) as extradata."""
    entry_kind = stsd[20:24]
    codec = _DECODERS.get(entry_kind)
    if codec is None:
        raise mp4.SegmentError(f"cannot paint masks on {entry_kind.decode(errors='replace')}")
    entry = stsd[16:]
    # visual sample entry: 8-byte header + 78 bytes, then its child boxes
    config = next(
        (entry[a:b] for kind, a, b in iter_boxes(entry, 86) if kind in (b"avcC", b"hvcC")), None
    )
    ctx = av.CodecContext.create(codec, "r")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.thread_type = "AUTO"
    if config is not None:
        ctx.extradata = config
    return ctx


class _Encoder:
    """libx264 into AVCC samples in a file, with their table."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        self.path = path
        self._file = path.open("wb")
        self.width, self.height = width, height
        ctx = av.CodecContext.create(ENCODER, "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.thread_type = "AUTO"  # frame threads: every core (PyAV's default is one)
        self._ctx = ctx
        self._ctx.width, self._ctx.height = width, height
        self._ctx.pix_fmt = "yuv420p"
        self._ctx.time_base = Fraction(1, TIMESCALE_90K)
        self._ctx.max_b_frames = 0
        self._ctx.gop_size = 250
        self._ctx.options = dict(ENCODER_OPTIONS)
        self.sps = self.pps = b""
        self.frame_pts: list[int] = []  # source instants of the frames given, in order
        self.sizes = array("I")
        self.offsets = array("q")
        self.sync = bytearray()
        self._pos = 0

    def encode(self, frame: VideoFrame | None) -> None:
        for packet in self._ctx.encode(frame):
            kept = []
            for nal in split_annexb(bytes(packet)):
                kind = nal_type(nal)
                if kind == NAL_SPS:
                    self.sps = self.sps or nal
                elif kind == NAL_PPS:
                    self.pps = self.pps or nal
                elif kind != NAL_AUD:
                    kept.append(len(nal).to_bytes(4, "big") + nal)
            data = b"".join(kept)
            self._file.write(data)
            self.sizes.append(len(data))
            self.offsets.append(self._pos)
            self.sync.append(1 if packet.is_keyframe else 0)
            self._pos += len(data)

    def close(self) -> None:
        self._file.close()


def masked_selection(
    sel: mp4.Selection,
    masks: list[Mask],
    work: Path,
    progress: Callable[[int, int], None] | None = None,
) -> mp4.Selection:
    """``sel`` decoded, painted and re-encoded; its samples in ``work``.
    ``sel`` itself is left open (the caller closes both). ``progress(done,
    total)`` after each source sample."""
    done = 0
    enc: _Encoder | None = None
    pixel_mask = None
    decoder = None
    decoder_stsd = b""
    first_cts: int | None = None
    for seg, times in zip(sel.segments, sel.times, strict=True):
        assert seg.data is not None
        if decoder is None or seg.stsd != decoder_stsd:
            if decoder is not None:  # the camera was reconfigured: drain the old one
                for frame in decoder.decode(None):
                    _paint_and_encode(frame, enc, pixel_mask)
            decoder, decoder_stsd = _decoder(seg.stsd), seg.stsd
        view = memoryview(seg.data)
        try:
            for i in range(len(seg)):
                if first_cts is None:
                    first_cts = seg.cts[i]
                packet = av.Packet(view[seg.offset[i] : seg.offset[i] + seg.size[i]].tobytes())
                packet.dts = times[i]
                packet.pts = times[i] + seg.cts[i] - first_cts
                packet.time_base = Fraction(1, TIMESCALE_90K)
                if seg.sync[i]:
                    packet.is_keyframe = True
                try:
                    frames = decoder.decode(packet)
                except av.error.FFmpegError as exc:  # a damaged sample: its frame is lost
                    log.warning("%s: sample %d not decodable (%s), skipped", seg.path.name, i, exc)
                    frames = []
                for frame in frames:
                    if enc is None:
                        enc = _Encoder(work / "masked.h264", frame.width - frame.width % 2,
                                       frame.height - frame.height % 2)  # fmt: skip
                        pixel_mask = PixelMask.of(masks, enc.width, enc.height)
                    _paint_and_encode(frame, enc, pixel_mask)
                done += 1
                if progress is not None and done % 25 == 0:
                    progress(done, sel.frames)
        finally:
            view.release()
    if decoder is not None:
        for frame in decoder.decode(None):
            _paint_and_encode(frame, enc, pixel_mask)
    if enc is None or pixel_mask is None:
        raise mp4.SegmentError("no frame could be decoded to paint the privacy masks on")
    enc.encode(None)
    enc.close()
    if not enc.sps or not enc.pps or not enc.sizes:
        raise mp4.SegmentError("the H.264 encoder gave no parameter sets")
    return _selection(sel, enc)


def _paint_and_encode(frame: VideoFrame, enc: _Encoder | None, mask: PixelMask | None) -> None:
    assert enc is not None and mask is not None
    picture = frame.reformat(width=enc.width, height=enc.height, format="yuv420p")
    arr = np.asarray(picture.to_ndarray(), dtype=np.uint8)  # a copy: decoder buffers untouched
    h, w = enc.height, enc.width
    chroma = arr[h:].reshape(-1)
    quarter = (h // 2) * (w // 2)
    u = chroma[:quarter].reshape(h // 2, w // 2)
    v = chroma[quarter:].reshape(h // 2, w // 2)
    paint_yuv420((arr[:h], u, v), mask)
    out = VideoFrame.from_ndarray(arr, format="yuv420p")
    # The encoder sees a regular 25 fps clock (its rate control wants steady,
    # increasing times); the real instants are put back on the samples after.
    assert frame.pts is not None
    enc.frame_pts.append(frame.pts)
    out.pts = len(enc.frame_pts) * _TICK_90K
    out.time_base = Fraction(1, TIMESCALE_90K)
    if frame.key_frame:
        out.pict_type = PictureType.I
    enc.encode(out)


def _selection(sel: mp4.Selection, enc: _Encoder) -> mp4.Selection:
    init = init_segment(width=enc.width, height=enc.height, avcc=avcc_record(enc.sps, enc.pps))
    stsd, width, height = mp4.sample_entry(init)
    fd = os.open(enc.path, os.O_RDONLY)
    try:
        data = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    if len(enc.sizes) != len(enc.frame_pts):
        raise mp4.SegmentError(
            f"the encoder gave {len(enc.sizes)} frames for {len(enc.frame_pts)} decoded"
        )
    # Frames leave the decoder in presentation order, so the k-th sample takes
    # the k-th instant; sorting also copes with a camera whose timestamps do
    # not follow its own frame reordering.
    times = mp4.strictly_increasing(np.sort(np.array(enc.frame_pts, dtype=np.int64)), -1)
    seg = mp4.Segment(enc.path, sel.first_ms, stsd, width, height, data)
    seg.dts = array("q", times)
    seg.size, seg.offset, seg.sync = enc.sizes, enc.offsets, enc.sync
    seg.cts = array("i", bytes(4 * len(times)))
    seg.duration = array("q", np.diff(np.asarray(times), append=sel.end_90k).tobytes())
    end_90k = max(sel.end_90k, times[-1] + 1)
    return mp4.Selection([seg], sel.first_ms, [times], end_90k, len(times))
