"""The media process: ingest workers plus an aiohttp server for live WebSockets,
snapshots and the internal API the control plane drives.

It never imports the web or SQL layers of Vigie: the control plane pushes the
streams to ingest (``PUT /internal/streams``) and signs the viewers' tickets.
Two listeners: the public one (``app``: live, snapshot, playback, health) that
browsers reach, and the internal one (``internal_app``: ``/internal/*``, with
the token) bound to 127.0.0.1 only; the public port answers 404 for
``/internal/*``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import hmac
import io
import json
import logging
import os
import resource
import secrets
import socket
import statistics
import sys
import termios
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiohttp import WSMsgType, web

from vigie.base.clock import Clock, RealClock
from vigie.base.errors import Unauthenticated, VigieError
from vigie.base.i18n import t
from vigie.base.settings import MEDIA_INTERNAL_HOST
from vigie.domain import tickets
from vigie.domain.masks import Mask, PixelMask, masks_from_json, paint_frame
from vigie.media.fragmenter import Fragment, InitInfo
from vigie.media.ingest import LIVE_CODECS, StreamSink, StreamWorker
from vigie.media.live import (
    WS_CLOSE_UNSUPPORTED,
    Control,
    InitMessage,
    LiveHub,
    QueueItem,
    Viewer,
    unsupported_codec,
)
from vigie.media.playback import PlaybackSession
from vigie.media.recorder import StreamRecorder, TeeSink, camera_dir
from vigie.media.source import CameraOpener, Opener

log = logging.getLogger(__name__)

LIVE_SNDBUF_BYTES = 64 * 1024
WS_CLOSE_REVOKED = 4403


@dataclass(frozen=True, slots=True)
class StreamDef:
    key: str
    camera_id: int
    stream: str
    url: str
    record: bool = True
    masks: tuple[Mask, ...] = ()  # privacy masks, painted on snapshots

    @staticmethod
    def parse(obj: dict[str, Any]) -> StreamDef:
        camera_id = int(obj["camera_id"])
        stream = str(obj["stream"])
        if stream not in ("main", "sub"):
            raise ValueError(f"stream must be main or sub, not {stream!r}")
        return StreamDef(
            tickets.stream_key(camera_id, stream),
            camera_id,
            stream,
            str(obj["url"]),
            bool(obj.get("record", True)),
            tuple(masks_from_json(obj.get("privacy_masks"))),
        )


class MediaServer:
    def __init__(
        self,
        *,
        secret: str,
        index: int = 0,
        max_streams: int = 64,
        opener: Opener | None = None,
        recordings_dir: Path | None = None,
        clock: Clock | None = None,
        internal_port: int | None = None,
    ) -> None:
        """``internal_port``: where the internal API listens on 127.0.0.1 once
        ``app`` starts (0: any free port, read back from ``internal_port``);
        ``None``: not started with ``app`` (the caller serves ``internal_app``)."""
        self.clock: Clock = clock or RealClock()
        self.secret = secret
        self.recordings_dir = recordings_dir
        self.recorders: dict[str, StreamRecorder] = {}
        self._playbacks: dict[web.WebSocketResponse, tickets.LiveTicket] = {}
        self.index = index
        self.max_streams = max_streams
        self.opener: Opener = opener or CameraOpener(clock=self.clock)
        self.defs: dict[str, StreamDef] = {}
        self.workers: dict[str, StreamWorker] = {}
        self.hub: LiveHub | None = None
        self.viewers: dict[str, set[Viewer]] = {}
        self._sockets: dict[Viewer, web.WebSocketResponse] = {}
        self._used_jtis: dict[str, float] = {}
        self._revoked_jtis: dict[str, float] = {}
        self._revoked_accounts: dict[int, float] = {}
        self._token = tickets.internal_api_token(secret)
        # Which stream list this process holds: a new value at every PUT, so the
        # control plane notices a list it did not push (and a restarted process).
        self._instance = secrets.token_hex(8)
        self._generation = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started_mono = self.clock.monotonic()
        self.internal_port = internal_port
        self._internal_runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/healthz", self._healthz),
                web.get("/live/{camera_id}/{stream}", self._live),
                web.get("/snapshot/{camera_id}/{stream}", self._snapshot),
                web.get("/playback/{camera_id}/{stream}", self._playback),
            ]
        )
        self.internal_app = web.Application()
        self.internal_app.add_routes(
            [
                web.put("/internal/streams", self._put_streams),
                web.get("/internal/stats", self._stats),
                web.post("/internal/revoke", self._revoke),
                web.get("/internal/sessions", self._sessions),
                web.get("/internal/keyframe/{camera_id}/{stream}", self._keyframe),
            ]
        )
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)

    # --- lifecycle ------------------------------------------------------------
    async def _on_startup(self, _app: web.Application) -> None:
        self.hub = LiveHub(asyncio.get_running_loop(), self.clock)
        self.hub.start()
        if self.internal_port is not None:
            self._internal_runner = web.AppRunner(self.internal_app, access_log=None)
            await self._internal_runner.setup()
            site = web.TCPSite(self._internal_runner, MEDIA_INTERNAL_HOST, self.internal_port)
            await site.start()
            self.internal_port = self._internal_runner.addresses[0][1]

    async def _on_shutdown(self, _app: web.Application) -> None:
        if self._internal_runner is not None:
            await self._internal_runner.cleanup()
        for w in self.workers.values():
            w.stop()
        for r in self.recorders.values():
            r.stop()
        if self.hub is not None:
            await self.hub.stop()
        for viewer, ws in list(self._sockets.items()):
            viewer.close()
            await ws.close()
        for pws in list(self._playbacks):
            await pws.close()

    def reconcile(self, wanted: list[StreamDef]) -> dict[str, list[str]]:
        """Make the running workers match ``wanted``: start, stop, restart on URL change."""
        assert self.hub is not None
        by_key = {d.key: d for d in wanted}
        stopped, started = [], []
        for key in list(self.defs):
            new = by_key.get(key)
            if new is not None and new.record != self.defs[key].record:
                # only the recording switch changed: no need to reconnect the camera
                if key in self.recorders:
                    self.recorders[key].set_enabled(new.record)
                self.defs[key] = replace(self.defs[key], record=new.record)
            if new is not None and new.masks != self.defs[key].masks:
                self.defs[key] = replace(self.defs[key], masks=new.masks)  # no reconnection
            if key not in by_key or by_key[key] != self.defs[key]:
                self.workers.pop(key).stop()
                self.defs.pop(key)
                recorder = self.recorders.pop(key, None)
                if recorder is not None:
                    recorder.stop()
                stream = self.hub.streams.pop(key, None)
                if stream is not None and key not in by_key:
                    for v in list(stream.viewers):
                        self._close_viewer(v, "live.unknown_stream", WS_CLOSE_REVOKED)
                stopped.append(key)
        for key, d in by_key.items():
            if key in self.defs:
                continue
            stream = self.hub.stream(key)
            for v in list(self.viewers.get(key, ())):
                stream.attach(v)
            sink: StreamSink = self.hub
            if self.recordings_dir is not None and d.stream == "main":
                recorder = StreamRecorder(self.recordings_dir, d.camera_id, clock=self.clock)
                recorder.set_enabled(d.record)
                self.recorders[key] = recorder
                sink = TeeSink(self.hub, recorder)
            worker = StreamWorker(key, d.url, opener=self.opener, sink=sink, clock=self.clock)
            self.defs[key] = d
            self.workers[key] = worker
            worker.start()
            started.append(key)
        return {"started": started, "stopped": stopped}

    # --- internal API ------------------------------------------------------------
    def _require_internal(self, request: web.Request) -> None:
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, f"Bearer {self._token}".encode()):
            raise web.HTTPUnauthorized(text="internal API: bad or missing token")

    @property
    def stream_list_version(self) -> str:
        return f"{self._instance}-{self._generation}"

    async def _put_streams(self, request: web.Request) -> web.Response:
        self._require_internal(request)
        body = await request.json()
        try:
            wanted = [StreamDef.parse(o) for o in body["streams"]]
        except (KeyError, TypeError, ValueError, VigieError) as exc:
            return web.json_response({"error": f"bad stream list: {exc}"}, status=422)
        if len(wanted) > self.max_streams:
            return web.json_response(
                {
                    "error": f"{len(wanted)} streams exceed this process's limit of {self.max_streams}"
                },
                status=409,
            )
        result = self.reconcile(wanted)
        self._generation += 1
        return web.json_response(
            {**result, "count": len(self.defs), "version": self.stream_list_version}
        )

    async def _stats(self, request: web.Request) -> web.Response:
        self._require_internal(request)
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        now = self.clock.monotonic()
        streams: dict[str, Any] = {}
        assert self.hub is not None
        for key, worker in self.workers.items():
            snap = worker.stats.snapshot(now) | worker.transport()
            live = self.hub.streams.get(key)
            lat = sorted(live.latencies_s) if live is not None else []
            snap["viewers"] = len(live.viewers) if live is not None else 0
            snap["latency_ms_p50"] = _pct_ms(lat, 0.50)
            snap["latency_ms_p95"] = _pct_ms(lat, 0.95)
            snap["dropped_frames"] = sum(v.dropped_frames for v in live.viewers) if live else 0
            recorder = self.recorders.get(key)
            snap["recording"] = recorder.snapshot() if recorder is not None else None
            streams[key] = snap
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "process": {
                "index": self.index,
                "pid": os.getpid(),
                "streams": len(self.workers),
                "max_streams": self.max_streams,
                "viewers": sum(len(s.viewers) for s in self.hub.streams.values()),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "rss_mb": round(_rss_bytes() / 1e6, 1),
                "uptime_s": round(now - self._started_mono, 1),
                "stream_list_version": self.stream_list_version,
            },
            "streams": streams,
        }

    async def _revoke(self, request: web.Request) -> web.Response:
        self._require_internal(request)
        body = await request.json()
        now = self.clock.now().timestamp()
        jtis = {str(j) for j in body.get("jtis", [])}
        accounts = {int(a) for a in body.get("account_ids", [])}
        cameras = {int(c) for c in body.get("camera_ids", [])}
        for j in jtis:
            self._revoked_jtis[j] = now + 3600
        for a in accounts:
            self._revoked_accounts[a] = now
        closed = 0
        for viewer in list(self._sockets):
            ticket = viewer.ticket
            if ticket is None:
                continue
            if ticket.jti in jtis or ticket.account_id in accounts or ticket.camera_id in cameras:
                self._close_viewer(viewer, "live.revoked", WS_CLOSE_REVOKED)
                closed += 1
        for ws, ticket in list(self._playbacks.items()):
            if ticket.jti in jtis or ticket.account_id in accounts or ticket.camera_id in cameras:
                self._spawn(ws.close(code=WS_CLOSE_REVOKED, message=b"revoked"))
                closed += 1
        return web.json_response({"closed": closed})

    async def _sessions(self, request: web.Request) -> web.Response:
        """Open image sessions, for the control plane's periodic re-check of rights."""
        self._require_internal(request)
        out = []
        live = [v.ticket for v in self._sockets if v.ticket is not None]
        for ticket in [*live, *self._playbacks.values()]:
            out.append(
                {
                    "jti": ticket.jti,
                    "account_id": ticket.account_id,
                    "camera_id": ticket.camera_id,
                    "stream": ticket.stream,
                    "purpose": ticket.purpose,
                    "commune": ticket.commune,
                    "iat": ticket.iat,
                }
            )
        return web.json_response({"sessions": out})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "streams": len(self.workers)})

    # --- tickets -----------------------------------------------------------------
    def _accept_ticket(
        self, request: web.Request, *, purposes: tuple[str, ...]
    ) -> tickets.LiveTicket:
        token = request.query.get("ticket", "")
        now = self.clock.now().timestamp()
        self._forget_expired(now)
        try:
            ticket = tickets.check(self.secret, token, now_s=now)
        except Unauthenticated as exc:
            raise web.HTTPUnauthorized(
                text=json.dumps({"error": t("live.ticket_invalid"), "detail": exc.message}),
                content_type="application/json",
            ) from exc
        path_cam = request.match_info["camera_id"]
        path_stream = request.match_info["stream"]
        refused = (
            ticket.purpose not in purposes
            or str(ticket.camera_id) != path_cam
            or ticket.stream != path_stream
            or ticket.jti in self._used_jtis
            or ticket.jti in self._revoked_jtis
            or ticket.iat <= self._revoked_accounts.get(ticket.account_id, float("-inf"))
        )
        if refused:
            raise web.HTTPForbidden(
                text=json.dumps({"error": t("live.ticket_invalid")}),
                content_type="application/json",
            )
        self._used_jtis[ticket.jti] = ticket.exp
        return ticket

    def _forget_expired(self, now: float) -> None:
        if len(self._used_jtis) > 1000:
            self._used_jtis = {j: e for j, e in self._used_jtis.items() if e >= now}
        if len(self._revoked_jtis) > 1000:
            self._revoked_jtis = {j: e for j, e in self._revoked_jtis.items() if e >= now}

    # --- live ----------------------------------------------------------------------
    async def _live(self, request: web.Request) -> web.StreamResponse:
        ticket = self._accept_ticket(request, purposes=("live",))
        assert self.hub is not None
        stream = self.hub.streams.get(ticket.stream_key)
        if stream is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": t("live.unknown_stream")}),
                content_type="application/json",
            )
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
        await ws.prepare(request)
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, LIVE_SNDBUF_BYTES)
        if stream.codec is not None and stream.codec not in LIVE_CODECS:
            refusal = unsupported_codec(stream.codec)
            await ws.send_str(json.dumps(refusal.payload))
            await ws.close(code=refusal.close_code or WS_CLOSE_UNSUPPORTED)
            return ws

        async def send(item: QueueItem) -> None:
            if isinstance(item, Fragment):
                await ws.send_bytes(item.data)
            elif isinstance(item, InitMessage):
                await ws.send_str(json.dumps(_init_header(item.init)))
                await ws.send_bytes(item.init.data)
            else:
                await ws.send_str(json.dumps(item.payload))

        viewer = Viewer(
            jti=ticket.jti,
            account_id=ticket.account_id,
            send=send,
            backlog_bytes=_backlog_probe(request),
            ticket=ticket,
        )
        self._sockets[viewer] = ws
        self.viewers.setdefault(ticket.stream_key, set()).add(viewer)
        if stream.init is None:
            viewer.offer_control(
                Control({"type": "status", "state": "waiting", "message": t("live.no_picture")})
            )
        stream.attach(viewer)
        viewer.on_finish = lambda code: self._spawn(ws.close(code=code))
        sender = asyncio.create_task(viewer.run())
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
            # Messages from the viewer are ignored; the loop ends when it goes away.
        finally:
            viewer.close()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await sender
            current = self.hub.streams.get(ticket.stream_key)
            for s in {stream, current}:
                if s is not None:
                    s.detach(viewer)
            self.viewers.get(ticket.stream_key, set()).discard(viewer)
            self._sockets.pop(viewer, None)
        return ws

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _close_viewer(self, viewer: Viewer, message_key: str, code: int) -> None:
        ws = self._sockets.get(viewer)
        viewer.close()
        if ws is None:
            return

        async def _close() -> None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(
                    json.dumps({"type": "error", "code": "revoked", "message": t(message_key)})
                )
            await ws.close(code=code)

        self._spawn(_close())

    # --- playback ------------------------------------------------------------------
    async def _playback(self, request: web.Request) -> web.StreamResponse:
        """Recorded video from ``start_ms`` (UTC epoch ms) on; see media/playback.py."""
        ticket = self._accept_ticket(request, purposes=("playback",))
        if self.recordings_dir is None:
            raise web.HTTPNotFound(text="no recordings here")
        try:
            start_ms = int(request.query["start_ms"])
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text="start_ms: UTC epoch milliseconds required") from exc
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
        await ws.prepare(request)
        self._playbacks[ws] = ticket
        try:
            session = PlaybackSession(
                ws, camera_dir(self.recordings_dir, ticket.camera_id), start_ms, self.clock,
                allowed=ticket.ranges,
            )  # fmt: skip
            await session.run()
        finally:
            self._playbacks.pop(ws, None)
            await ws.close()
        return ws

    # --- snapshot ----------------------------------------------------------------
    async def _snapshot(self, request: web.Request) -> web.Response:
        ticket = self._accept_ticket(request, purposes=("snapshot",))
        assert self.hub is not None
        stream = self.hub.streams.get(ticket.stream_key)
        if stream is None or stream.init is None or not stream.gop:
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": t("live.no_picture")}), content_type="application/json"
            )
        data = stream.init.data + stream.gop[0].data
        d = self.defs.get(ticket.stream_key)
        masks = list(d.masks) if d is not None else []
        jpeg = await asyncio.get_running_loop().run_in_executor(
            None, keyframe_to_jpeg, data, 5, masks
        )
        return web.Response(
            body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
        )

    async def _keyframe(self, request: web.Request) -> web.Response:
        """The newest keyframe as a small fMP4 (init + one fragment), undecoded,
        for the image-checks process. ``X-Keyframe-Dts-90k`` identifies it, so
        the checker never compares a keyframe with itself."""
        self._require_internal(request)
        assert self.hub is not None
        key = f"{request.match_info['camera_id']}/{request.match_info['stream']}"
        stream = self.hub.streams.get(key)
        if stream is None or stream.init is None or not stream.gop:
            raise web.HTTPNotFound(text=json.dumps({"error": t("live.no_picture")}))
        frag = stream.gop[0]
        return web.Response(
            body=stream.init.data + frag.data,
            content_type="video/mp4",
            headers={
                "X-Keyframe-Dts-90k": str(frag.dts_90k),
                "X-Init-Bytes": str(len(stream.init.data)),
                "Cache-Control": "no-store",
            },
        )


def keyframe_to_jpeg(fmp4: bytes, quality: int = 5, masks: list[Mask] | None = None) -> bytes:
    """Decode the first frame of a small fMP4 and encode it as JPEG (off the
    loop), privacy masks painted black."""
    with av.open(io.BytesIO(fmp4), mode="r") as container:
        frame = next(container.decode(video=0))
    enc = av.CodecContext.create("mjpeg", "w")
    enc.width, enc.height = frame.width, frame.height
    enc.pix_fmt = "yuvj420p"
    enc.time_base = frame.time_base or Fraction(1, 25)
    enc.options = {"qmin": str(quality), "qmax": str(quality)}
    picture = frame.reformat(format="yuvj420p")
    if masks:
        paint_frame(picture, PixelMask.of(masks, picture.width, picture.height))
    out = b"".join(bytes(p) for p in enc.encode(picture))
    out += b"".join(bytes(p) for p in enc.encode(None))
    return out


def _backlog_probe(request: web.Request) -> Callable[[], int] | None:
    """Bytes written but not yet delivered: transport buffer + kernel send queue."""
    transport = request.transport
    if transport is None:
        return None
    sock = transport.get_extra_info("socket")
    fd = sock.fileno() if sock is not None else -1
    buf = bytearray(4)

    def probe() -> int:
        queued = transport.get_write_buffer_size()
        if fd >= 0:
            try:
                fcntl.ioctl(fd, termios.TIOCOUTQ, buf)
                queued += int.from_bytes(buf, sys.byteorder)
            except OSError:
                pass
        return queued

    return probe


def _init_header(init: InitInfo) -> dict[str, object]:
    return {"type": "init", "mime": init.mime, "width": init.width, "height": init.height}


def _pct_ms(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return round(sorted_values[0] * 1000, 2)
    return round(
        statistics.quantiles(sorted_values, n=100, method="inclusive")[int(q * 100) - 1] * 1000, 2
    )


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


# Cyclic garbage collection tuned for a process that allocates a few short-lived,
# acyclic objects per frame (packets, fragments) at ~1,600 frames per second:
# with CPython's default threshold (700) collections ran ~25 times a second and
# walked the whole heap regularly — 13 % of the process's CPU under perf.
# Everything allocated at start-up is frozen out of the collector's sight.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_media_process(
    *,
    secret: str,
    host: str,
    port: int,
    internal_port: int,
    index: int,
    max_streams: int,
    recordings_dir: Path | None = None,
) -> None:
    server = MediaServer(
        secret=secret,
        index=index,
        max_streams=max_streams,
        recordings_dir=recordings_dir,
        clock=RealClock(),
        internal_port=internal_port,
    )
    tune_gc()
    log.info(
        "media process %d listening on %s:%d (internal API on %s:%d)",
        index, host, port, MEDIA_INTERNAL_HOST, internal_port,
    )  # fmt: skip
    web.run_app(server.app, host=host, port=port, print=None, access_log=None, handle_signals=True)
