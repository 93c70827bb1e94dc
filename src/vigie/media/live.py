"""Live fan-out: one ingest, any number of viewers, each with a bounded queue.

Everything here runs on the media process's event loop. The ingest thread
hands fragments over with ``call_soon_threadsafe``; a viewer that falls behind
is cut back to the newest keyframe, so it never accumulates delay and never
slows ingest or the other viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vigie.base.clock import Clock, RealClock
from vigie.base.i18n import t
from vigie.domain.tickets import LiveTicket
from vigie.media.fragmenter import Fragment, InitInfo
from vigie.media.ingest import LIVE_CODECS, codec_label

MAX_VIEWER_LAG_S = 0.5  # queued content older than this: jump to the newest keyframe
MAX_VIEWER_QUEUE_BYTES = 8 * 1024 * 1024
MAX_GOP_CACHE_BYTES = 16 * 1024 * 1024
LATENCY_SAMPLES = 2048


@dataclass(frozen=True, slots=True)
class Control:
    """A text message for the viewer (error, status); ``close_code`` ends the session after it."""

    payload: dict[str, object]
    close_code: int | None = None


WS_CLOSE_UNSUPPORTED = 4415


def unsupported_codec(codec: str) -> Control:
    """What a viewer of a stream the browser cannot decode is told before the session ends."""
    return Control(
        {
            "type": "error",
            "code": "codec_unsupported",
            "codec": codec,
            "message": t("live.codec_unsupported", codec=codec_label(codec)),
        },
        close_code=WS_CLOSE_UNSUPPORTED,
    )


@dataclass(frozen=True, slots=True)
class InitMessage:
    init: InitInfo


QueueItem = Fragment | Control | InitMessage
Sender = Callable[[QueueItem], Awaitable[None]]


class Viewer:
    """One WebSocket viewer of one stream.

    Its lag is what it has not yet received: its own queue (measured in time)
    plus what waits in the transport and in the kernel's socket buffer
    (``backlog_bytes``, turned into time at the stream's byte rate). Past
    ``MAX_VIEWER_LAG_S`` the queue is dropped and the viewer resumes at the next
    keyframe.
    """

    def __init__(
        self,
        *,
        jti: str,
        account_id: int,
        send: Sender,
        backlog_bytes: Callable[[], int] | None = None,
        ticket: LiveTicket | None = None,
    ) -> None:
        self.ticket = ticket
        self.jti = jti
        self.account_id = account_id
        self._send = send
        self._queue: deque[QueueItem] = deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._waiting_key = True
        self.closed = False
        self.sent_frames = 0
        self.dropped_frames = 0
        self.skips = 0
        # The cached GOP queued at attach (at the head of the queue): old content,
        # but new to this viewer, so its lag counts from the attach instant and its
        # fragments are not live delivery latency samples.
        self.replay_pending = 0
        self._replay_mono = 0.0
        self.on_latency: Callable[[float], None] | None = None  # given each sent read_mono
        self.on_finish: Callable[[int], None] | None = None
        self.byte_rate: Callable[[], float] = lambda: 0.0
        self._backlog_bytes = backlog_bytes

    def offer_control(self, item: Control | InitMessage) -> None:
        self._queue.append(item)
        if isinstance(item, InitMessage):
            self._waiting_key = True
        self._wakeup.set()

    def offer(self, frag: Fragment) -> None:
        if self.closed:
            return
        if self._waiting_key:
            if not frag.is_key:
                self.dropped_frames += 1
                return
            self._waiting_key = False
        if (
            self.lag_s(frag.read_mono) > MAX_VIEWER_LAG_S
            or self._queued_bytes > MAX_VIEWER_QUEUE_BYTES
        ):
            self._cut_to_keyframe()
            if not frag.is_key:
                self._waiting_key = True
                self.dropped_frames += 1
                return
        self._queue.append(frag)
        self._queued_bytes += len(frag.data)
        self._wakeup.set()

    def offer_replay(self, frags: list[Fragment], now_mono: float) -> None:
        """Queue the stream's cached GOP (newest keyframe onwards) for a joining viewer."""
        if self.closed:
            return
        self._replay_mono = now_mono
        for frag in frags:
            if self._waiting_key:
                if not frag.is_key:
                    self.dropped_frames += 1
                    continue
                self._waiting_key = False
            self._queue.append(frag)
            self._queued_bytes += len(frag.data)
            self.replay_pending += 1
        self._wakeup.set()

    def lag_s(self, newest_mono: float) -> float:
        oldest = self._oldest_fragment()
        if oldest is None:
            lag = 0.0
        elif self.replay_pending > 0:
            lag = newest_mono - self._replay_mono
        else:
            lag = newest_mono - oldest.read_mono
        if self._backlog_bytes is not None:
            rate = self.byte_rate()
            if rate > 0:
                lag += self._backlog_bytes() / rate
        return lag

    def _oldest_fragment(self) -> Fragment | None:
        for item in self._queue:
            if isinstance(item, Fragment):
                return item
        return None

    def _cut_to_keyframe(self) -> None:
        kept: deque[QueueItem] = deque()
        for item in self._queue:
            if isinstance(item, Fragment):
                self.dropped_frames += 1
            else:
                kept.append(item)
        self._queue = kept
        self._queued_bytes = 0
        self.replay_pending = 0
        self.skips += 1

    async def run(self) -> None:
        """Send queued items until closed. Only this viewer waits on its socket."""
        while not self.closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue and not self.closed:
                item = self._queue.popleft()
                if isinstance(item, Fragment):
                    self._queued_bytes -= len(item.data)
                await self._send(item)
                if isinstance(item, Control) and item.close_code is not None:
                    self.closed = True
                    if self.on_finish is not None:
                        self.on_finish(item.close_code)
                    return
                if isinstance(item, Fragment):
                    self.sent_frames += 1
                    if self.replay_pending > 0:
                        self.replay_pending -= 1
                    elif self.on_latency is not None:
                        self.on_latency(item.read_mono)

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()


class LiveStream:
    """The state of one stream on the loop: codec, init segment, GOP cache, viewers."""

    def __init__(self, key: str, clock: Clock | None = None) -> None:
        self.key = key
        self._mono = (clock or RealClock()).monotonic
        self.codec: str | None = None
        self.init: InitInfo | None = None
        self.gop: list[Fragment] = []
        self._gop_bytes = 0
        self.viewers: set[Viewer] = set()
        self.latencies_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._rate_bytes = 0.0  # EWMA of bytes per second of fragments
        self._last_mono: float | None = None

    @property
    def live(self) -> bool:
        """Whether browsers can be sent this stream (its codec is unknown yet, or playable).

        A stream the browser cannot decode (H.265) still keeps its init segment
        and newest GOP, for the server-side uses (snapshot, image checks), but
        nothing of it is ever offered to a viewer.
        """
        return self.codec is None or self.codec in LIVE_CODECS

    def set_codec(self, codec: str) -> None:
        self.codec = codec
        self.init = None
        self.gop.clear()
        self._gop_bytes = 0
        if codec not in LIVE_CODECS:
            # Viewers that connected before the codec was known are told now.
            for v in self.viewers:
                v.offer_control(unsupported_codec(codec))

    def set_init(self, init: InitInfo) -> None:
        self.init = init
        self.gop.clear()
        self._gop_bytes = 0
        if self.live:
            for v in self.viewers:
                v.offer_control(InitMessage(init))

    def byte_rate(self) -> float:
        return self._rate_bytes

    def publish(self, frag: Fragment) -> None:
        if self._last_mono is not None:
            dt = max(frag.read_mono - self._last_mono, 1e-3)
            inst = len(frag.data) / dt
            self._rate_bytes = (
                inst if self._rate_bytes == 0 else 0.95 * self._rate_bytes + 0.05 * inst
            )
        self._last_mono = frag.read_mono
        if frag.is_key:
            self.gop = [frag]
            self._gop_bytes = len(frag.data)
        elif self.gop and self._gop_bytes < MAX_GOP_CACHE_BYTES:
            self.gop.append(frag)
            self._gop_bytes += len(frag.data)
        if self.live:
            for v in self.viewers:
                v.offer(frag)

    def attach(self, viewer: Viewer) -> None:
        """Start a viewer at once from the cached GOP (newest keyframe).

        The GOP is up to a GOP's duration old: replayed through ``offer`` it would
        trip the lag cut and the viewer would wait for the next keyframe instead.
        """
        viewer.on_latency = self._latency
        viewer.byte_rate = self.byte_rate
        if not self.live:
            assert self.codec is not None
            viewer.offer_control(unsupported_codec(self.codec))
        elif self.init is not None:
            viewer.offer_control(InitMessage(self.init))
            viewer.offer_replay(self.gop, self._mono())
        self.viewers.add(viewer)

    def _latency(self, read_mono: float) -> None:
        self.latencies_s.append(self._mono() - read_mono)

    def detach(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)


# How often the loop takes what the ingest threads produced. Waking the loop
# once per frame (call_soon_threadsafe: a self-pipe write, an epoll wake-up and
# a GIL hand-over) cost ~130 µs of CPU per frame, more than the fragmenting
# itself; a 5 ms tick costs 200 short wake-ups per second per process whatever
# the number of streams, for at most 5 ms of added delivery delay.
DRAIN_INTERVAL_S = 0.005


class LiveHub:
    """The ``StreamSink`` of the ingest threads, bridging them onto the loop.

    Threads append events to one inbox (``deque.append`` is atomic); the loop
    drains it every ``DRAIN_INTERVAL_S``, in order, so an init segment is never
    overtaken by fragments of the previous configuration or vice versa.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Clock | None = None) -> None:
        self._loop = loop
        self._clock = clock or RealClock()
        self.streams: dict[str, LiveStream] = {}
        self._inbox: deque[tuple[Callable[[Any], None], Any]] = deque()
        self._drainer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start draining (on the loop)."""
        if self._drainer is None:
            self._drainer = self._loop.create_task(self._drain_forever())

    async def stop(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None
        self.drain()

    def drain(self) -> int:
        """Deliver everything the threads produced so far; return how many events."""
        inbox = self._inbox
        n = 0
        while inbox:
            handler, arg = inbox.popleft()
            handler(arg)
            n += 1
        return n

    async def _drain_forever(self) -> None:
        while True:
            self.drain()
            await asyncio.sleep(DRAIN_INTERVAL_S)

    def stream(self, key: str) -> LiveStream:
        s = self.streams.get(key)
        if s is None:
            s = self.streams[key] = LiveStream(key, self._clock)
        return s

    # --- StreamSink, called from ingest threads -------------------------------
    # Streams are created on the loop before their worker starts; a worker that
    # outlives its stream (being stopped) finds None and its output is dropped.
    def on_init(self, key: str, init: InitInfo) -> None:
        s = self.streams.get(key)
        if s is not None:
            self._inbox.append((s.set_init, init))

    def on_fragment(self, key: str, fragment: Fragment) -> None:
        s = self.streams.get(key)
        if s is not None:
            self._inbox.append((s.publish, fragment))

    def on_codec(self, key: str, codec: str) -> None:
        s = self.streams.get(key)
        if s is not None:
            self._inbox.append((s.set_codec, codec))
