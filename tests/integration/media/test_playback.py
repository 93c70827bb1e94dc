"""Playback over the media process's WebSocket from recorded files: seek,
speeds, pause and step, gaps, revocation."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import av
import pytest
from aiohttp import web

from tests.unit.recording.helpers import record
from vigie.domain import tickets
from vigie.media.server import MediaServer
from vigie.recording.index import utc_to_ms

SECRET = "media-test-secret-" + "z" * 30
T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
pytestmark = pytest.mark.integration


class Running:
    def __init__(self, server: MediaServer, port: int) -> None:
        self.server = server
        self.port = port
        self.internal = f"http://127.0.0.1:{server.internal_port}"
        self.auth = {"Authorization": f"Bearer {tickets.internal_api_token(SECRET)}"}

    def url(
        self,
        start: datetime,
        *,
        purpose: str = "playback",
        account: int = 1,
        ranges: tuple[tuple[int, int], ...] | None = None,
    ) -> str:
        _, token = tickets.issue(
            SECRET, camera_id=1, stream="main", account_id=account, commune="59350",
            now_s=time.time(), ttl_s=30, purpose=purpose, ranges=ranges,
        )  # fmt: skip
        return (
            f"ws://127.0.0.1:{self.port}/playback/1/main?ticket={token}&start_ms={utc_to_ms(start)}"
        )


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[Running]:
    root = tmp_path / "recordings"
    record(root, 1, T0, 6)
    record(root, 1, T0 + timedelta(seconds=10), 4)  # a 4 s gap
    server = MediaServer(secret=SECRET, recordings_dir=root, internal_port=0)
    runner = web.AppRunner(server.app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    yield Running(server, sock.getsockname()[1])
    await runner.cleanup()


async def collect(
    ws: aiohttp.ClientWebSocketResponse, seconds: float
) -> tuple[list[dict[str, object]], list[bytes]]:
    controls: list[dict[str, object]] = []
    binary: list[bytes] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if msg.type == aiohttp.WSMsgType.TEXT:
            controls.append(json.loads(msg.data))
            if controls[-1]["type"] == "end":
                break
        elif msg.type == aiohttp.WSMsgType.BINARY:
            binary.append(msg.data)
        else:
            break
    return controls, binary


def decode(binary: list[bytes]) -> list[float]:
    with av.open(io.BytesIO(b"".join(binary))) as c:
        return [float(f.time or 0) for f in c.decode(video=0)]


async def test_seek_then_frames_decode_in_real_time(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(media.url(T0 + timedelta(seconds=2, milliseconds=300)))
        t0 = time.monotonic()
        controls, binary = await collect(ws, 1.0)
        assert controls[0]["type"] == "init"
        assert controls[0]["origin_ms"] == utc_to_ms(T0 + timedelta(seconds=2))  # keyframe
        times = decode(binary)
        assert 20 <= len(times) <= 32  # about 1 s at 25 fps, paced
        assert times[0] == 0.0
        assert time.monotonic() - t0 < 1.5
        # seek elsewhere: a fresh init and decodable frames from that keyframe
        await ws.send_str(
            json.dumps(
                {"type": "seek", "at_ms": utc_to_ms(T0 + timedelta(seconds=11, milliseconds=500))}
            )
        )
        controls, binary = await collect(ws, 0.8)
        inits = [c for c in controls if c["type"] == "init"]
        assert inits and inits[-1]["origin_ms"] == utc_to_ms(T0 + timedelta(seconds=11))
        start = next(i for i, b in enumerate(binary) if b[4:8] == b"ftyp")
        assert len(decode(binary[start:])) >= 10
        await ws.close()


async def test_fast_speed_sends_keyframes_only_and_reports_gap(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(media.url(T0))
        await collect(ws, 0.2)
        await ws.send_str(json.dumps({"type": "speed", "value": 8}))
        controls, binary = await collect(ws, 3.0)
        assert any(c["type"] == "init" and c["speed"] == 8 for c in controls)
        assert any(c["type"] == "gap" for c in controls)
        assert controls[-1]["type"] == "end"
        frames = [b for b in binary if b[4:8] == b"moof"]
        assert 8 <= len(frames) <= 11  # one keyframe per recorded second
        await ws.close()


async def test_a_ticket_limited_to_periods_plays_only_those(media: Running) -> None:
    # The centre's ticket names the recorded periods it may see (here 1.5 s to 3.5 s):
    # playback starts at the first keyframe inside, stops outside, seeks stay inside.
    allowed = ((utc_to_ms(T0 + timedelta(seconds=1.5)), utc_to_ms(T0 + timedelta(seconds=3.5))),)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(media.url(T0, ranges=allowed))
        controls, binary = await collect(ws, 3.0)
        assert controls[0]["type"] == "init"
        assert controls[0]["origin_ms"] == utc_to_ms(T0 + timedelta(seconds=2))  # keyframe
        assert controls[-1]["type"] == "end"
        times = decode(binary)
        assert 30 <= len(times) <= 38 and max(times) < 1.5
        await ws.send_str(
            json.dumps({"type": "seek", "at_ms": utc_to_ms(T0 + timedelta(seconds=11))})
        )
        controls, binary = await collect(ws, 1.0)
        assert [c["type"] for c in controls] == ["end"] and binary == []
        await ws.close()


async def test_pause_and_step(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(media.url(T0))
        await collect(ws, 0.3)
        await ws.send_str(json.dumps({"type": "pause"}))
        await collect(ws, 0.2)
        _, binary = await collect(ws, 0.5)
        assert binary == []
        for _ in range(3):
            await ws.send_str(json.dumps({"type": "step"}))
        _, binary = await collect(ws, 0.5)
        assert len(binary) == 3
        await ws.close()


async def test_live_ticket_refused_and_revocation_closes(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(media.url(T0, purpose="live"))
        ws = await http.ws_connect(media.url(T0, account=7))
        await collect(ws, 0.2)
        t0 = time.monotonic()
        r = await http.post(
            f"{media.internal}/internal/revoke", headers=media.auth,
            json={"account_ids": [7]},
        )  # fmt: skip
        assert (await r.json())["closed"] == 1
        await collect(ws, 2.0)
        assert ws.closed and time.monotonic() - t0 < 2.0
        await asyncio.sleep(0)


async def test_record_switch_does_not_reconnect_the_camera(tmp_path: Path) -> None:
    from tests.integration.media.fakes import FakeOpener
    from vigie.media.server import StreamDef

    server = MediaServer(secret=SECRET, opener=FakeOpener(), recordings_dir=tmp_path)
    runner = web.AppRunner(server.app)
    await runner.setup()  # runs on_startup: the live hub exists
    try:
        d = StreamDef.parse({"camera_id": 1, "stream": "main", "url": "rtsp://fake/ok"})
        server.reconcile([d])
        worker = server.workers[d.key]
        off = StreamDef.parse(
            {"camera_id": 1, "stream": "main", "url": "rtsp://fake/ok", "record": False}
        )
        assert server.reconcile([off]) == {"started": [], "stopped": []}
        assert server.workers[d.key] is worker
        assert server.recorders[d.key].snapshot()["state"] == "disabled"
        await asyncio.sleep(0.5)
        assert server.stats()["streams"][d.key]["recording"]["error_code"] == "quota_full"
    finally:
        await runner.cleanup()
