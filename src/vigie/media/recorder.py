"""Continuous recording of one stream into fMP4 segment files (stream copy).

Runs in the ingest thread, called through the ``StreamSink`` protocol by
``TeeSink``. Per frame it only appends the fragment (already built for live)
to a list; the list is written with one ``os.write`` at each keyframe or when
it spans ``FLUSH_S`` seconds, so a ``kill -9`` loses at most that much (data
handed to the kernel survives a process kill). Segments roll at the first
keyframe after ``ROLL_S``; each starts with the init segment, so every file
plays on its own. Disk faults (full, read-only, deleted directory) never
raise into the ingest thread: the recorder reports them in ``snapshot()`` and
retries a fresh segment every ``RETRY_S``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from vigie.base.clock import Clock, RealClock, epoch_ms
from vigie.base.i18n import t
from vigie.media.fmp4 import TIMESCALE_90K
from vigie.media.fragmenter import FRAGMENTERS, Fragment, InitInfo
from vigie.media.ingest import StreamSink
from vigie.media.recfile import segment_name

log = logging.getLogger(__name__)

FLUSH_S = 0.5
ROLL_S = 300.0
RETRY_S = 5.0
_FLUSH_90K = int(FLUSH_S * TIMESCALE_90K)


def camera_dir(root: Path, camera_id: int) -> Path:
    return root / str(camera_id)


class StreamRecorder:
    """Writes one camera's main stream under ``root/<camera_id>/<start_ms>.mp4``."""

    def __init__(
        self,
        root: Path,
        camera_id: int,
        *,
        clock: Clock | None = None,
        roll_s: float = ROLL_S,
    ) -> None:
        self.dir = camera_dir(root, camera_id)
        clock = clock or RealClock()
        self._wall_ms: Callable[[], int] = lambda: epoch_ms(clock.now())
        self._mono = clock.monotonic
        self._roll_90k = int(roll_s * TIMESCALE_90K)
        self._init: bytes | None = None
        self._fd: int | None = None
        self._seg_first_dts = 0
        self._buf: list[bytes] = []
        self._buf_first_dts = 0
        self._retry_at = 0.0
        self._last_start_ms = 0
        self.state = "waiting"  # waiting, recording, error, unsupported, stopped
        self.error_code: str | None = None
        self.last_error: str | None = None
        self.bytes_written = 0
        self.segments_opened = 0
        self.path: Path | None = None
        self._last_write_mono: float | None = None
        self._lock = threading.Lock()  # stop() comes from another thread

    # --- StreamSink ------------------------------------------------------------
    def on_codec(self, key: str, codec: str) -> None:
        self._close()
        self._init = None
        if codec not in FRAGMENTERS:  # H.264 and H.265 are recorded
            self.state = "unsupported"
            self.error_code = "unsupported_codec"
            self.last_error = t("recording.error.unsupported_codec", codec=codec.upper())
        elif self.state == "unsupported":  # the camera switched to a recorded codec
            self.state = "waiting"
            self.error_code = self.last_error = None

    def on_init(self, key: str, init: InitInfo) -> None:
        self._close()  # a new configuration starts a new file
        self._init = init.data

    def on_fragment(self, key: str, fragment: Fragment) -> None:
        with self._lock:
            if self.state not in ("stopped", "disabled"):
                self._on_fragment(fragment)

    def _on_fragment(self, fragment: Fragment) -> None:
        if self._fd is None:
            if not fragment.is_key or self._init is None or not self._open():
                return
            self._seg_first_dts = fragment.dts_90k
        elif fragment.is_key and fragment.dts_90k - self._seg_first_dts >= self._roll_90k:
            self._close()
            if not self._open():
                return
            self._seg_first_dts = fragment.dts_90k
        buf = self._buf
        if not buf:
            self._buf_first_dts = fragment.dts_90k
        elif fragment.is_key or fragment.dts_90k - self._buf_first_dts >= _FLUSH_90K:
            self._flush()
            if self._fd is None:
                return
            self._buf_first_dts = fragment.dts_90k
        buf.append(fragment.data)

    # --- files -------------------------------------------------------------------
    def _open(self) -> bool:
        now = self._mono()
        if self.state == "error" and now < self._retry_at:
            return False
        assert self._init is not None
        start_ms = max(self._wall_ms(), self._last_start_ms + 1)  # names never collide
        path = self.dir / segment_name(start_ms)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
            self._last_start_ms = start_ms
            try:
                _write_all(fd, self._init)
            except OSError:
                os.close(fd)
                _unlink_quietly(path)
                raise
        except OSError as exc:
            self._fail(exc)
            return False
        self._fd = fd
        self.path = path
        self.segments_opened += 1
        self.bytes_written += len(self._init)
        self.state = "recording"
        self.error_code = self.last_error = None
        return True

    def _flush(self) -> None:
        if self._fd is None or not self._buf:
            self._buf.clear()
            return
        data = b"".join(self._buf)
        self._buf.clear()
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._fail(exc)
            os.close(self._fd)
            self._fd = None
            return
        self.bytes_written += len(data)
        self._last_write_mono = self._mono()

    def _close(self) -> None:
        if self._fd is not None:
            self._flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def set_enabled(self, enabled: bool) -> None:
        """Switch recording on or off (off: the commune's quota is full and cannot be freed)."""
        with self._lock:
            if enabled and self.state == "disabled":
                self.state = "waiting"
                self.error_code = self.last_error = None
            elif not enabled and self.state != "stopped":
                self._close()
                self.state = "disabled"
                self.error_code = "quota_full"
                self.last_error = t("recording.error.quota_full")

    def stop(self) -> None:
        with self._lock:
            self._close()
            self.state = "stopped"

    def _fail(self, exc: OSError) -> None:
        code = {
            errno.ENOSPC: "disk_full",
            errno.EDQUOT: "disk_full",
            errno.EROFS: "read_only",
            errno.ENOENT: "directory_missing",
            errno.EACCES: "permission",
            errno.EPERM: "permission",
        }.get(exc.errno or 0, "io")
        if self.error_code != code:
            log.warning("recording %s: %s", self.dir, exc)
        self.state = "error"
        self.error_code = code
        self.last_error = t(f"recording.error.{code}", path=str(self.dir), detail=str(exc))
        self._retry_at = self._mono() + RETRY_S

    def snapshot(self) -> dict[str, object]:
        now = self._mono()
        lag = None if self._last_write_mono is None else round(now - self._last_write_mono, 3)
        return {
            "state": self.state,
            "error_code": self.error_code,
            "last_error": self.last_error,
            "bytes_written": self.bytes_written,
            "segments_opened": self.segments_opened,
            "lag_s": lag,
        }


class TeeSink:
    """Hands every stream event to the live hub, then to the recorder."""

    def __init__(self, first: StreamSink, recorder: StreamRecorder) -> None:
        self._first = first
        self.recorder = recorder

    def on_init(self, key: str, init: InitInfo) -> None:
        self._first.on_init(key, init)
        self.recorder.on_init(key, init)

    def on_fragment(self, key: str, fragment: Fragment) -> None:
        self._first.on_fragment(key, fragment)
        self.recorder.on_fragment(key, fragment)

    def on_codec(self, key: str, codec: str) -> None:
        self._first.on_codec(key, codec)
        self.recorder.on_codec(key, codec)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
