"""One thread per camera stream: connect, demux, fragment, hand over; reconnect
with exponential backoff and jitter. Exactly one upstream connection per stream.

The thread never decodes and never blocks on viewers: it hands each fragment
to a ``StreamSink`` (the live hub) which must return at once.
"""

from __future__ import annotations

import errno
import logging
import random
import threading
from dataclasses import dataclass, field
from typing import Protocol

import av

from vigie.base.clock import Clock, RealClock
from vigie.base.i18n import t
from vigie.base.redact import redact_text, redact_url
from vigie.media.fragmenter import FRAGMENTERS, Fragment, H264Fragmenter, InitInfo
from vigie.media.source import Opener, PacketSource, frames

log = logging.getLogger(__name__)

STALL_AFTER_S = 2.0  # no packet for this long while online: the status says so
STATS_WINDOW_S = 2.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 3.0  # with stats every 2 s and a 3 s clear delay: back and cleared < 10 s
LIVE_CODECS = ("h264",)


class StreamSink(Protocol):
    """Receives what a stream produces. Called from the ingest thread; must not block."""

    def on_init(self, key: str, init: InitInfo) -> None: ...

    def on_fragment(self, key: str, fragment: Fragment) -> None: ...

    def on_codec(self, key: str, codec: str) -> None: ...


@dataclass
class StreamStats:
    state: str = "starting"  # starting, connecting, online, offline, stopped
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    profile: str | None = None
    fps: float = 0.0
    bitrate_kbps: float = 0.0
    gop_frames: int | None = None
    frames_total: int = 0
    bytes_total: int = 0
    reconnects: int = 0
    last_packet_mono: float | None = None
    online_since_mono: float | None = None
    error_code: str | None = None
    error_detail: str | None = None
    last_event: str | None = None
    # internal window counters
    _win_start: float = field(default=0.0, repr=False)
    _win_frames: int = field(default=0, repr=False)
    _win_bytes: int = field(default=0, repr=False)
    _since_key: int = field(default=0, repr=False)

    def snapshot(self, now_mono: float) -> dict[str, object]:
        age = None if self.last_packet_mono is None else round(now_mono - self.last_packet_mono, 3)
        state = self.state
        if state == "online" and age is not None and age > STALL_AFTER_S:
            state = "stalled"
        code = self.error_code if state != "online" else None
        if state == "stalled":
            code = "stalled"
        message = None
        if code is not None:
            message = t(f"stream.error.{code}", seconds=int(age or 0))
        if state == "online" and self.codec not in LIVE_CODECS and self.codec is not None:
            message = t("stream.codec_not_live", codec=codec_label(self.codec))
        return {
            "state": state,
            "codec": self.codec,
            "live_playable": self.codec in LIVE_CODECS,
            "width": self.width,
            "height": self.height,
            "profile": self.profile,
            "fps": round(self.fps, 2),
            "bitrate_kbps": round(self.bitrate_kbps, 1),
            "gop_frames": self.gop_frames,
            "frames_total": self.frames_total,
            "bytes_total": self.bytes_total,
            "reconnects": self.reconnects,
            "last_packet_age_s": age,
            "error_code": code,
            "message": message,
            "detail": self.error_detail if code is not None else None,
            "last_event": self.last_event,
        }


def codec_label(codec: str) -> str:
    return {"hevc": "H.265 (HEVC)", "h264": "H.264"}.get(codec, codec.upper())


def describe_error(exc: BaseException) -> tuple[str, str]:
    """Map an exception from FFmpeg/sockets to (error code, technical detail)."""
    detail = redact_text(str(exc))[:300]
    err = getattr(exc, "errno", None)
    text = detail.lower()
    if isinstance(exc, av.error.HTTPUnauthorizedError) or "401" in text or "unauthorized" in text:
        return "unauthorized", detail
    if isinstance(exc, av.error.HTTPNotFoundError) or "404" in text or "not found" in text:
        return "not_found", detail
    if err in (errno.ECONNREFUSED,) or "connection refused" in text:
        return "refused", detail
    if err in (errno.ETIMEDOUT,) or isinstance(exc, TimeoutError) or "timed out" in text:
        return "timeout", detail
    if err in (errno.EHOSTUNREACH, errno.ENETUNREACH) or "unreachable" in text:
        return "unreachable", detail
    if "name or service" in text or "resolve" in text or "temporary failure" in text:
        return "dns", detail
    if isinstance(exc, (av.error.InvalidDataError, ValueError)) or "invalid data" in text:
        return "invalid_data", detail
    if isinstance(exc, (EOFError, av.error.EOFError)):
        return "ended", detail
    if err in (errno.ECONNRESET, errno.EPIPE) or "reset" in text:
        return "reset", detail
    return "other", detail


class StreamWorker:
    """Ingests one stream in its own thread until ``stop()``."""

    def __init__(
        self,
        key: str,
        url: str,
        *,
        opener: Opener,
        sink: StreamSink,
        clock: Clock | None = None,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
    ) -> None:
        self.key = key
        self.url = url
        self.stats = StreamStats()
        self._opener = opener
        self._sink = sink
        self._mono = (clock or RealClock()).monotonic
        self._backoff_base = backoff_base_s
        self._backoff_cap = backoff_cap_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{key}", daemon=True)
        self._fragmenter = H264Fragmenter()
        self._source: PacketSource | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; a read in progress returns at once."""
        self._stop.set()
        self.stats.state = "stopped"
        interrupt = getattr(self._source, "interrupt", None)
        if interrupt is not None:
            interrupt()

    def transport(self) -> dict[str, object]:
        """What the connection reports (RTP losses, camera clock offset), from any thread."""
        counters = getattr(self._source, "counters", None)
        if counters is None:
            return {}
        c = counters()
        offset = c.get("clock_offset_s")
        return {
            "clock_drift_s": None if offset is None else round(float(offset), 3),
            "rtp_packets_lost": c.get("lost"),
        }

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: uniform in [½·d, d], d = min(cap, base·2^attempt)."""
        d = min(self._backoff_cap, self._backoff_base * (2**attempt))
        return random.uniform(d / 2, d)

    def _run(self) -> None:
        attempt = 0
        first = True
        while not self._stop.is_set():
            self.stats.state = "connecting"
            if not first:
                self.stats.reconnects += 1
            first = False
            got_packets = False
            source: PacketSource | None = None
            try:
                source = self._opener.open(self.url)
                got_packets = self._consume(source)
                if not self._stop.is_set():
                    raise EOFError("the camera ended the stream")
            except Exception as exc:  # any camera fault: report, back off, retry
                if self._stop.is_set():
                    break
                code, detail = describe_error(exc)
                self.stats.state = "offline"
                self.stats.error_code = code
                self.stats.error_detail = detail
                self.stats.online_since_mono = None
                log.info("stream %s (%s): %s (%s)", self.key, redact_url(self.url), code, detail)
            finally:
                self._source = None
                if source is not None:
                    try:
                        source.close()
                    except Exception:
                        log.debug("closing %s failed", self.key, exc_info=True)
            self._fragmenter.discontinuity()
            attempt = 0 if got_packets else attempt + 1
            self._stop.wait(self.backoff_delay(attempt))
        self.stats.state = "stopped"

    def _consume(self, source: PacketSource) -> bool:
        stats = self.stats
        codec = source.codec
        if codec != stats.codec:
            if stats.codec is not None:
                stats.last_event = t(
                    "stream.event.codec_changed", old=stats.codec.upper(), new=codec.upper()
                )
            stats.codec = codec
            self._sink.on_codec(self.key, codec)
            self._fragmenter = FRAGMENTERS.get(codec, H264Fragmenter)()
        if source.width and source.height:
            self._set_size(source.width, source.height)
        fragmenter = self._fragmenter if codec in FRAGMENTERS else None  # recorded codecs
        if fragmenter is not None:
            fragmenter.set_extradata(source.extradata)
        self._source = source
        got = False
        sink = self._sink
        key = self.key
        for size, now, is_key, init, frag in frames(source, fragmenter, self._mono):
            if not got:
                got = True
                stats.state = "online"
                stats.error_code = None
                stats.error_detail = None
                stats.online_since_mono = now
                stats._win_start = now
                stats._win_frames = stats._win_bytes = 0
            stats.last_packet_mono = now
            stats.frames_total += 1
            stats.bytes_total += size
            stats._win_frames += 1
            stats._win_bytes += size
            elapsed = now - stats._win_start
            if elapsed >= STATS_WINDOW_S:
                stats.fps = stats._win_frames / elapsed
                stats.bitrate_kbps = stats._win_bytes * 8 / elapsed / 1000
                stats._win_start = now
                stats._win_frames = stats._win_bytes = 0
            if init is not None:
                self._on_new_init(init)
            if frag is not None:
                self._count_gop(is_key)
                sink.on_fragment(key, frag)
            elif fragmenter is None:
                self._count_gop(is_key)
            if self._stop.is_set():
                break
        return got

    def _count_gop(self, is_key: bool) -> None:
        stats = self.stats
        if is_key:
            if stats._since_key:
                stats.gop_frames = stats._since_key
            stats._since_key = 1
        else:
            stats._since_key += 1

    def _on_new_init(self, init: InitInfo) -> None:
        stats = self.stats
        if stats.width and (stats.width, stats.height) != (init.width, init.height):
            stats.last_event = t(
                "stream.event.resolution_changed",
                old=f"{stats.width}×{stats.height}",
                new=f"{init.width}×{init.height}",
            )
        self._set_size(init.width, init.height)
        stats.profile = self._fragmenter.profile_name or init.codec_string
        self._sink.on_init(self.key, init)

    def _set_size(self, width: int, height: int) -> None:
        self.stats.width, self.stats.height = width, height
