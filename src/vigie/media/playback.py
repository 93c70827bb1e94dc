"""Playback of recorded segments over a WebSocket, from the media process.

Reads the segment files directly (the media process owns the recordings
directory; it needs no database): finds the segment holding the requested
instant by its name, starts at the keyframe at or before it and sends init +
fragments paced at the chosen speed, with decode times rewritten from
wall-clock instants so that gaps and segment changes stay continuous for
MSE. File reads run in a thread, never on the loop. Missing or truncated files
are skipped (the client is told about the gap). Above ×2, keyframes only.

Client → server (JSON text): ``{"type": "seek", "at_ms": N}``,
``{"type": "speed", "value": 1..8}``, ``{"type": "pause"}``, ``{"type": "resume"}``,
``{"type": "step"}`` (one frame while paused).
Server → client: ``{"type": "init", "origin_ms": N, "mime": ..., "codec": "h264"|"hevc"}``
then the init bytes (the page says so when the browser cannot decode ``mime``); fragments as binary; ``{"type": "gap", "from_ms", "to_ms"}``;
``{"type": "end"}`` when nothing more is recorded.

A ticket may limit the session to recorded periods (``allowed``, from the
control plane's authority decision): frames outside are never sent, and
playing resumes inside a period only at a keyframe, so the picture decodes.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import WSMsgType, web

from vigie.base.clock import Clock, RealClock
from vigie.media import hevc
from vigie.media.fmp4 import TIMESCALE_90K
from vigie.media.recfile import SEGMENT_SUFFIX, retime, scan_bytes, start_ms_of

SPEEDS = (1, 2, 4, 8)
KEYFRAMES_ONLY_ABOVE = 2


def codec_of(init: bytes) -> str:
    """ "hevc" for an init segment with an ``hvcC`` record, else "h264"."""
    return "hevc" if init.find(b"hvcC") >= 0 else "h264"


def mime_of(init: bytes) -> str:
    """MSE type from the init segment's avcC (profile, compatibility, level) or hvcC."""
    j = init.find(b"hvcC")
    if j >= 0:
        try:
            return f'video/mp4; codecs="{hevc.codec_string(init[j + 4 :])}"'
        except ValueError:
            return 'video/mp4; codecs="hvc1.1.6.L93.B0"'
    i = init.find(b"avcC")
    if i < 0 or len(init) < i + 8:
        return 'video/mp4; codecs="avc1.42e01e"'
    return f'video/mp4; codecs="avc1.{init[i + 5]:02x}{init[i + 6]:02x}{init[i + 7]:02x}"'


def segment_starts(cam_dir: Path) -> list[int]:
    try:
        names = os.listdir(cam_dir)
    except OSError:
        return []
    return sorted(s for n in names if n.endswith(SEGMENT_SUFFIX) and (s := start_ms_of(Path(n))))


@dataclass(slots=True)
class Frame:
    at_ms: int
    data: bytes
    is_key: bool


@dataclass(slots=True)
class Chunk:
    """One segment's playable part from a given keyframe on."""

    init: bytes
    frames: list[Frame]
    seg_start_ms: int


def load_chunk(cam_dir: Path, seg_start_ms: int, from_ms: int) -> Chunk | None:
    try:
        data = (cam_dir / f"{seg_start_ms}{SEGMENT_SUFFIX}").read_bytes()
    except OSError:
        return None
    frags: list[tuple[int, int, int, bool]] = []
    info = scan_bytes(data, seg_start_ms, frags)
    if not frags:
        return None
    begin = 0
    for i, (rel, _, _, key) in enumerate(frags):
        if seg_start_ms + rel > from_ms:
            break
        if key:
            begin = i
    frames = [Frame(seg_start_ms + rel, data[a:b], key) for rel, a, b, key in frags[begin:]]
    return Chunk(data[: info.init_bytes], frames, seg_start_ms)


def chunks_from(cam_dir: Path, at_ms: int) -> Iterator[int]:
    """Segment starts to play from ``at_ms`` on (the one holding it, then later)."""
    starts = segment_starts(cam_dir)
    i = max(0, bisect.bisect_right(starts, at_ms) - 1)
    yield from starts[i:]


def within(frames: list[Frame], allowed: tuple[tuple[int, int], ...] | None) -> list[Frame]:
    """The frames inside the allowed periods (half-open, epoch ms), each stretch
    starting at a keyframe; all of them when ``allowed`` is None."""
    if allowed is None:
        return frames
    out: list[Frame] = []
    need_key = True
    for fr in frames:
        if any(a <= fr.at_ms < b for a, b in allowed):
            if need_key and not fr.is_key:
                continue
            need_key = False
            out.append(fr)
        else:
            need_key = True
    return out


class PlaybackSession:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        cam_dir: Path,
        start_ms: int,
        clock: Clock | None = None,
        *,
        allowed: tuple[tuple[int, int], ...] | None = None,
    ) -> None:
        self._clock = clock or RealClock()
        self.allowed = allowed
        self.ws = ws
        self.cam_dir = cam_dir
        self.at_ms = start_ms
        self.speed = 1
        self.paused = False
        self._steps = 0
        self._restart = asyncio.Event()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_commands())
        try:
            while not self.ws.closed:
                self._restart.clear()
                await self._play_from(self.at_ms)
                if self.ws.closed:
                    break
                await self._restart.wait()
        finally:
            reader.cancel()

    async def _read_commands(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
                continue
            try:
                cmd = json.loads(msg.data)
                kind = cmd.get("type")
                if kind == "seek":
                    self.at_ms = int(cmd["at_ms"])
                    self._restart.set()
                elif kind == "speed":
                    value = int(cmd["value"])
                    if value in SPEEDS:
                        self.speed = value
                        self.at_ms = self._position_ms
                        self._restart.set()
                elif kind == "pause":
                    self.paused = True
                elif kind == "resume":
                    self.paused = False
                    self.at_ms = self._position_ms
                    self._restart.set()
                elif kind == "step":
                    self._steps += 1
                self._wake.set()
            except (ValueError, KeyError, TypeError):
                continue
        self._restart.set()
        self._wake.set()

    _position_ms = 0

    async def _play_from(self, at_ms: int) -> None:
        origin: int | None = None
        clock0 = self._clock.monotonic()
        prev_end: int | None = None
        for seg_start in chunks_from(self.cam_dir, at_ms):
            chunk = await asyncio.to_thread(load_chunk, self.cam_dir, seg_start, at_ms)
            if chunk is None:
                continue  # missing or unreadable: the gap message below covers it
            shown = within(chunk.frames, self.allowed)
            if not shown:
                continue  # nothing of it may be shown: a gap, like a missing file
            if origin is None:
                origin = shown[0].at_ms
                self._position_ms = origin
                await self.ws.send_str(
                    json.dumps(
                        {
                            "type": "init",
                            "origin_ms": origin,
                            "speed": self.speed,
                            "mime": mime_of(chunk.init),
                            "codec": codec_of(chunk.init),
                        }
                    )
                )
                await self.ws.send_bytes(chunk.init)
                clock0 = self._clock.monotonic()
            first = shown[0].at_ms
            if prev_end is not None and first - prev_end > 1500:
                await self.ws.send_str(
                    json.dumps({"type": "gap", "from_ms": prev_end, "to_ms": first})
                )
            keys_only = self.speed > KEYFRAMES_ONLY_ABOVE
            frames = [f for f in shown if f.is_key] if keys_only else shown
            for i, fr in enumerate(frames):
                while self.paused and not self._restart.is_set() and not self.ws.closed:
                    if self._steps:
                        self._steps -= 1
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    clock0 = self._clock.monotonic() - (fr.at_ms - origin) / 1000 / self.speed
                if self._restart.is_set() or self.ws.closed:
                    return
                due = clock0 + (fr.at_ms - origin) / 1000 / self.speed
                delay = due - self._clock.monotonic()
                if delay > 0 and not self.paused:
                    try:
                        await asyncio.wait_for(self._restart.wait(), delay)
                        return
                    except TimeoutError:
                        pass
                # Media time runs at 1/speed of recorded time: the browser plays at ×1.
                nxt = frames[i + 1].at_ms if i + 1 < len(frames) else fr.at_ms + 40
                dts = (fr.at_ms - origin) * TIMESCALE_90K // 1000 // self.speed
                dur = max(1, (nxt - fr.at_ms) * TIMESCALE_90K // 1000 // self.speed)
                await self.ws.send_bytes(retime(fr.data, dts, dur))
                self._position_ms = fr.at_ms
            prev_end = shown[-1].at_ms + 40
        if not self.ws.closed:
            await self.ws.send_str(json.dumps({"type": "end"}))
