#!/usr/bin/python3
"""Standalone RTSP server of simulated cameras (GStreamer gst-rtsp-server).

Run with the SYSTEM interpreter: ``/usr/bin/python3 gst_server.py CONFIG.json``.
It imports only the standard library and ``gi`` (python3-gi, GStreamer 1.22);
never ``vigie`` nor anything from the virtual environment.

Every mount loops a pre-encoded clip (see ``vigie/sim/clips.py``): the
elementary stream is loaded once, each access unit is wrapped once in a
``GLib.Bytes``, and the pipeline

    appsrc (live, TIME) ! clocksync ! h264parse|h265parse ! rtph26xpay config-interval=-1

is fed one access unit per buffer with PTS = DTS, increasing continuously
across loop restarts; ``clocksync`` paces it at real time on the pipeline
clock. Media are shared: one pipeline per mount serves all its clients.

Wall-clock alignment: when a mount's pipeline starts, playback begins at once
at the keyframe nearest to clip position ``UTC seconds mod duration_s``. From
then on the picture's clock shows UTC seconds modulo the clip duration (for
60 s clips: the seconds of the minute), off by at most half a GOP.

Config (JSON)::

    {"bind": "127.0.0.1", "port": 0, "watch_stdin": true,
     "mounts": [{"path": "/cam/1/main", "codec": "h264", "fps": 25,
                 "clips": [{"stream": "/…/stream.h264", "index": "/…/index.json",
                            "duration_s": 10}],
                 "switch_every_s": null}]}

With several clips and ``switch_every_s``, the mount moves to the next clip
at the first loop end after ``switch_every_s`` seconds (clips of a mount share
codec and fps; SPS/PPS are in band, so clients see a resolution change).

With ``"sessions_file": PATH``, the number of clients playing each mount
(RTSP PLAY received, connection not closed nor torn down) is written there as
JSON ``{"/cam/1/main": 1, …}`` whenever it changes (tests count sessions).

Prints ``READY port=NNNN`` once listening; exits with status 0 on SIGTERM or
SIGINT, and on end of standard input when ``watch_stdin`` is true (so the
server dies with the process that started it).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any, ClassVar

import gi  # type: ignore[import-untyped,unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtspServer  # type: ignore[import-untyped,unused-ignore]  # noqa: E402

# GstApp is imported for its side effect: it gives appsrc its push_buffer().
assert GstApp

# Frames pushed per need-data call: fewer Python callbacks; clocksync paces.
BATCH_FRAMES = 10

_PARSERS = {
    "h264": ("h264parse", "rtph264pay", "video/x-h264"),
    "hevc": ("h265parse", "rtph265pay", "video/x-h265"),
}


class ClipData:
    """One clip's access units as GLib.Bytes, loaded once and shared by mounts."""

    _cache: ClassVar[dict[str, ClipData]] = {}
    _lock = threading.Lock()

    def __init__(self, stream: str, index: str, duration_s: int) -> None:
        with open(stream, "rb") as f:
            data = f.read()
        with open(index, encoding="utf-8") as f:
            units = json.load(f)["access_units"]
        self.duration_s = duration_s
        self.units: list[Any] = [GLib.Bytes.new(data[o : o + n]) for o, n, _k in units]
        self.keyframes: list[int] = [i for i, (_o, _n, k) in enumerate(units) if k]
        if not self.units or not self.keyframes or self.keyframes[0] != 0:
            raise ValueError(f"{index}: a clip must start with a keyframe")

    @classmethod
    def get(cls, spec: dict[str, Any]) -> ClipData:
        key = spec["stream"]
        with cls._lock:
            if key not in cls._cache:
                cls._cache[key] = ClipData(spec["stream"], spec["index"], int(spec["duration_s"]))
            return cls._cache[key]


class Feeder:
    """Feeds one appsrc (one media pipeline) with a mount's looping clips."""

    def __init__(self, appsrc: Any, clips: list[ClipData], fps: int, switch_every_s: float | None):
        self.appsrc = appsrc
        self.clips = clips
        self.fps = fps
        self.switch_every_ns = int(switch_every_s * Gst.SECOND) if switch_every_s else None
        self.clip_no = 0
        self.frame = 0  # next frame within the current clip
        self.pushed = 0  # frames pushed since the pipeline started
        self.base_ns: int | None = None
        self.clip_started_ns = 0

    def _start(self) -> None:
        """Choose the first frame (wall-clock alignment) and timestamp it now."""
        clock = self.appsrc.get_clock()
        now_ns = clock.get_time() - self.appsrc.get_base_time() if clock else 0
        clip = self.clips[0]
        n = len(clip.units)
        position = (time.time() % clip.duration_s) * self.fps  # in frames
        # The keyframe nearest to the wall-clock position (frame n is frame 0
        # of the next loop). Starting at once, never waiting for the exact
        # keyframe, keeps DESCRIBE fast; the picture's clock is then off by
        # at most half a GOP.
        first = min([*clip.keyframes, n], key=lambda k: abs(k - position))
        self.base_ns = max(0, now_ns)
        self.clip_started_ns = self.base_ns
        self.frame = first % n

    def on_need_data(self, appsrc: Any, _length: int) -> None:
        if self.base_ns is None:
            self._start()
        assert self.base_ns is not None
        for _ in range(BATCH_FRAMES):
            clip = self.clips[self.clip_no]
            pts = self.base_ns + self.pushed * Gst.SECOND // self.fps
            nxt = self.base_ns + (self.pushed + 1) * Gst.SECOND // self.fps
            buf = Gst.Buffer.new_wrapped_bytes(clip.units[self.frame])
            buf.pts = pts
            buf.dts = pts
            buf.duration = nxt - pts
            if appsrc.push_buffer(buf) != Gst.FlowReturn.OK:
                return  # flushing or shutting down
            self.pushed += 1
            self.frame += 1
            if self.frame == len(clip.units):
                self.frame = 0
                if (
                    self.switch_every_ns is not None
                    and len(self.clips) > 1
                    and nxt - self.clip_started_ns >= self.switch_every_ns
                ):
                    self.clip_no = (self.clip_no + 1) % len(self.clips)
                    self.clip_started_ns = nxt


class SessionCounter:
    """Clients playing each mount, written to a JSON file on every change."""

    def __init__(self, path: str, mounts: list[str]) -> None:
        self.path = path
        # Longest first: a request URL is matched to the most specific mount.
        self.mounts = sorted(mounts, key=len, reverse=True)
        self.playing: dict[Any, set[str]] = {}  # client -> mounts it plays
        self.lock = threading.Lock()
        self._write()

    def attach(self, server: Any) -> None:
        server.connect("client-connected", self.on_client)

    def on_client(self, _server: Any, client: Any) -> None:
        client.connect("play-request", self.on_play)
        client.connect("teardown-request", self.on_teardown)
        client.connect("closed", self.on_closed)

    def _mount(self, ctx: Any) -> str | None:
        path = ctx.uri.abspath if ctx is not None and ctx.uri is not None else ""
        return next((m for m in self.mounts if path == m or path.startswith(m + "/")), None)

    def on_play(self, client: Any, ctx: Any) -> None:
        mount = self._mount(ctx)
        if mount is not None:
            with self.lock:
                self.playing.setdefault(client, set()).add(mount)
                self._write()

    def on_teardown(self, client: Any, ctx: Any) -> None:
        mount = self._mount(ctx)
        with self.lock:
            if mount is not None and mount in self.playing.get(client, set()):
                self.playing[client].discard(mount)
                self._write()

    def on_closed(self, client: Any) -> None:
        with self.lock:
            if self.playing.pop(client, None) is not None:
                self._write()

    def _write(self) -> None:
        counts = dict.fromkeys(sorted(self.mounts), 0)
        for mounts in self.playing.values():
            for mount in mounts:
                counts[mount] += 1
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(counts, f)
        os.replace(tmp, self.path)


def make_factory(mount: dict[str, Any]) -> Any:
    codec = mount["codec"]
    parser, payloader, caps = _PARSERS[codec]
    fps = int(mount["fps"])
    clips = [ClipData.get(c) for c in mount["clips"]]
    switch = mount.get("switch_every_s")
    launch = (
        f"( appsrc name=src is-live=true format=time do-timestamp=false max-bytes=67108864 "
        f'caps="{caps},stream-format=byte-stream,alignment=au,framerate={fps}/1" '
        f"! clocksync ! {parser} ! {payloader} name=pay0 pt=96 config-interval=-1 )"
    )
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)

    def on_media_configure(_factory: Any, media: Any) -> None:
        appsrc = media.get_element().get_by_name("src")
        feeder = Feeder(appsrc, clips, fps, switch)
        # The signal closure keeps the feeder alive as long as the appsrc.
        appsrc.connect("need-data", feeder.on_need_data)

    factory.connect("media-configure", on_media_configure)
    return factory


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} CONFIG.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        config = json.load(f)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(config.get("bind", "127.0.0.1"))
    server.set_service(str(config.get("port", 0)))
    # Clients are served by a pool of threads, so a slow media preparation
    # never holds up the other cameras' clients.
    server.get_thread_pool().set_max_threads(max(4, min(64, len(config["mounts"]))))
    mounts = server.get_mount_points()
    for mount in config["mounts"]:
        mounts.add_factory(mount["path"], make_factory(mount))
    if config.get("sessions_file"):
        SessionCounter(config["sessions_file"], [m["path"] for m in config["mounts"]]).attach(
            server
        )
    if server.attach(None) == 0:
        print(f"cannot listen on {config.get('bind')}:{config.get('port')}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()

    def quit_loop(*_args: Any) -> bool:
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, quit_loop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, quit_loop)
    if config.get("watch_stdin"):

        def on_stdin(_fd: Any, _cond: Any) -> bool:
            if not os.read(sys.stdin.fileno(), 4096):
                loop.quit()
                return False
            return True

        GLib.io_add_watch(
            sys.stdin.fileno(),
            GLib.PRIORITY_DEFAULT,
            GLib.IOCondition.IN | GLib.IOCondition.HUP,
            on_stdin,
        )
    # Drop sessions of clients that vanished without TEARDOWN.
    pool = server.get_session_pool()
    GLib.timeout_add_seconds(2, lambda: pool.cleanup() >= 0)

    print(f"READY port={server.get_bound_port()}", flush=True)
    loop.run()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: GStreamer threads may still be streaming and
    # finalising GObjects from Python at exit is not worth the risk.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
