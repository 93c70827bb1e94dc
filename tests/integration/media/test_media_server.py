"""The media server end to end over real sockets: tickets, live WebSocket,
slow and fast viewers, revocation, snapshot, unsupported codecs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from tests.integration.media.fakes import FakeOpener
from vigie.domain import tickets
from vigie.media.server import MediaServer

SECRET = "media-test-secret-" + "y" * 30
pytestmark = pytest.mark.integration


class Running:
    def __init__(self, server: MediaServer, port: int) -> None:
        self.server = server
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.internal = f"http://127.0.0.1:{server.internal_port}"
        self.auth = {"Authorization": f"Bearer {tickets.internal_api_token(SECRET)}"}

    def ticket(
        self, camera_id: int, stream: str = "main", *, purpose: str = "live", account: int = 1
    ) -> str:
        _, token = tickets.issue(
            SECRET, camera_id=camera_id, stream=stream, account_id=account,  # type: ignore[arg-type]
            commune="59350", now_s=time.time(), ttl_s=30, purpose=purpose,
        )  # fmt: skip
        return token

    def ws_url(self, camera_id: int, stream: str = "main", token: str | None = None) -> str:
        token = token or self.ticket(camera_id, stream)
        return f"ws://127.0.0.1:{self.port}/live/{camera_id}/{stream}?ticket={token}"


@pytest.fixture
async def media() -> AsyncIterator[Running]:
    server = MediaServer(secret=SECRET, opener=FakeOpener(), max_streams=8, internal_port=0)
    runner = web.AppRunner(server.app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    running = Running(server, port)
    async with aiohttp.ClientSession() as http:
        r = await http.put(
            f"{running.internal}/internal/streams",
            headers=running.auth,
            json={"streams": [
                {"camera_id": 1, "stream": "main", "url": "rtsp://fake/ok"},
                {"camera_id": 2, "stream": "main", "url": "rtsp://fake/hevc"},
                {"camera_id": 3, "stream": "main", "url": "rtsp://fake/refuse"},
            ]},
        )  # fmt: skip
        assert r.status == 200, await r.text()
    await asyncio.sleep(1.2)  # let ingest fill the GOP cache
    yield running
    await runner.cleanup()


async def read_frames(
    ws: aiohttp.ClientWebSocketResponse, seconds: float
) -> tuple[list[dict[str, object]], int]:
    controls: list[dict[str, object]] = []
    frames = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if msg.type == aiohttp.WSMsgType.TEXT:
            controls.append(json.loads(msg.data))
        elif msg.type == aiohttp.WSMsgType.BINARY:
            if msg.data[4:8] == b"moof":
                frames += 1
        else:
            break
    return controls, frames


async def test_viewer_gets_init_then_keyframe_then_25_fps(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        t0 = time.monotonic()
        async with http.ws_connect(media.ws_url(1)) as ws:
            first = await ws.receive(timeout=2)
            header = json.loads(first.data)
            assert header["type"] == "init" and header["width"] == 320
            assert "avc1.64" in str(header["mime"])
            init = await ws.receive(timeout=2)
            assert init.data[4:8] == b"ftyp"
            frag = await ws.receive(timeout=2)
            assert frag.data[4:8] == b"moof"
            ttff = time.monotonic() - t0
            assert ttff < 0.5
            _, frames = await read_frames(ws, 3.0)
    assert frames >= 70  # 25 fps for 3 s, plus the cached GOP


def raw_ws_connect(url: str, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket client on a raw socket with a tiny receive window: it reads
    only when told to, so TCP back-pressure reaches the server as with a slow link."""
    rest = url.removeprefix("ws://")
    hostport, path = rest.split("/", 1)
    host, port = hostport.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = sock.recv(256)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.setblocking(False)
    return sock


async def test_slow_viewer_does_not_slow_the_fast_one(media: Running) -> None:
    slow = await asyncio.to_thread(raw_ws_connect, media.ws_url(1))
    stop = asyncio.Event()

    async def crawl() -> None:  # 10 kB/s, well under the stream's ~35 kB/s
        while not stop.is_set():
            await asyncio.sleep(0.1)
            with contextlib.suppress(BlockingIOError):
                slow.recv(1024)

    crawler = asyncio.create_task(crawl())
    async with aiohttp.ClientSession() as http, http.ws_connect(media.ws_url(1)) as fast:
        await read_frames(fast, 1.0)
        _, frames = await read_frames(fast, 4.0)
        viewers = list(media.server.hub.streams["1/main"].viewers)  # type: ignore[union-attr]
        slow_viewer = max(viewers, key=lambda v: v.dropped_frames)
        assert slow_viewer.skips >= 1 and slow_viewer.dropped_frames > 0
        assert slow_viewer.lag_s(time.monotonic()) < 1.0
    stop.set()
    await crawler
    slow.close()
    assert frames >= 95, f"fast viewer got {frames} frames in 4 s"


async def test_ticket_rules(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        token = media.ticket(1)
        async with http.ws_connect(media.ws_url(1, token=token)):
            pass
        # Replayed ticket.
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(media.ws_url(1, token=token))
        assert exc.value.status == 403
        # Ticket for another camera.
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(media.ws_url(1, token=media.ticket(2)))
        assert exc.value.status == 403
        # Forged ticket.
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(media.ws_url(1, token=token[:-4] + "AAAA"))
        assert exc.value.status == 401
        # Snapshot ticket cannot open a live session.
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(media.ws_url(1, token=media.ticket(1, purpose="snapshot")))
        assert exc.value.status == 403
        # Internal API without its token.
        r = await http.get(f"{media.internal}/internal/stats")
        assert r.status == 401


async def test_revocation_closes_open_sessions_within_2_s(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(media.ws_url(1, token=media.ticket(1, account=42)))
        await read_frames(ws, 0.5)
        unused = media.ticket(1, account=42)
        await asyncio.sleep(0.01)
        t0 = time.monotonic()
        r = await http.post(
            f"{media.internal}/internal/revoke", headers=media.auth, json={"account_ids": [42]}
        )
        assert (await r.json())["closed"] == 1
        controls, _ = await read_frames(ws, 2.0)
        assert ws.closed and ws.close_code == 4403
        assert time.monotonic() - t0 < 2.0
        assert any(c.get("code") == "revoked" for c in controls)
        # A ticket issued before the revocation can no longer be used.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(media.ws_url(1, token=unused))


async def test_hevc_stream_says_it_cannot_be_played(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(media.ws_url(2)) as ws:
            msg = await ws.receive(timeout=2)
            body = json.loads(msg.data)
            assert body["code"] == "codec_unsupported"
            assert "H265" in body["message"] or "HEVC" in body["message"]
            closing = await ws.receive(timeout=2)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        r = await http.get(f"{media.internal}/internal/stats", headers=media.auth)
        stats = (await r.json())["streams"]
    assert stats["2/main"]["codec"] == "hevc"
    assert stats["2/main"]["live_playable"] is False
    assert "ce navigateur" in stats["2/main"]["message"]


async def test_refusing_camera_is_reported_in_plain_words(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        r = await http.get(f"{media.internal}/internal/stats", headers=media.auth)
        stats = (await r.json())["streams"]
    s = stats["3/main"]
    assert s["state"] == "offline" and s["error_code"] == "refused"
    assert s["message"] == "La caméra refuse la connexion (port fermé ou service arrêté)."
    assert stats["1/main"]["state"] == "online"  # others untouched


async def test_snapshot_is_a_jpeg(media: Running) -> None:
    async with aiohttp.ClientSession() as http:
        token = media.ticket(1, purpose="snapshot")
        r = await http.get(f"{media.base}/snapshot/1/main?ticket={token}")
        assert r.status == 200
        body = await r.read()
    assert body[:2] == b"\xff\xd8" and r.headers["Content-Type"] == "image/jpeg"


async def test_a_live_ticket_takes_no_snapshot(media: Running) -> None:
    # One purpose per ticket: a live ticket (audited as live_start) is no snapshot.
    async with aiohttp.ClientSession() as http:
        r = await http.get(f"{media.base}/snapshot/1/main?ticket={media.ticket(1)}")
        assert r.status == 403


async def test_one_upstream_connection_whatever_the_viewers(media: Running) -> None:
    opener = media.server.opener
    assert isinstance(opener, FakeOpener)
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(media.ws_url(1)) for _ in range(6)]
        counts = [(await read_frames(ws, 1.0))[1] for ws in sockets]
        for ws in sockets:
            await ws.close()
    assert all(c > 10 for c in counts)
    assert opener.opened.count("rtsp://fake/ok") == 1


async def test_viewer_waiting_when_codec_turns_out_unsupported_is_told(media: Running) -> None:
    # A configured stream whose codec is not known yet (camera still connecting) …
    async with aiohttp.ClientSession() as http:
        body = {"streams": [
            {"camera_id": 1, "stream": "main", "url": "rtsp://fake/ok"},
            {"camera_id": 2, "stream": "main", "url": "rtsp://fake/hevc"},
            {"camera_id": 3, "stream": "main", "url": "rtsp://fake/refuse"},
            {"camera_id": 7, "stream": "main", "url": "rtsp://fake/refuse"},
        ]}  # fmt: skip
        r = await http.put(f"{media.internal}/internal/streams", headers=media.auth, json=body)
        assert r.status == 200
        stream = media.server.hub.streams["7/main"]  # type: ignore[union-attr]
        async with http.ws_connect(media.ws_url(7)) as ws:
            waiting = json.loads((await ws.receive(timeout=2)).data)
            assert waiting["type"] == "status"
            stream.set_codec("hevc")  # … then turns out to be H.265
            told = json.loads((await ws.receive(timeout=2)).data)
            assert told["code"] == "codec_unsupported"
            closing = await ws.receive(timeout=2)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4415


# --- the internal API: its own listener, on loopback only ------------------------------

INTERNAL_CALLS = [
    ("PUT", "/internal/streams"),
    ("GET", "/internal/stats"),
    ("POST", "/internal/revoke"),
    ("GET", "/internal/sessions"),
    ("GET", "/internal/keyframe/1/main"),
]


async def test_public_port_answers_404_for_the_internal_api_even_with_the_token(
    media: Running,
) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in INTERNAL_CALLS:
            r = await http.request(
                method, f"{media.base}{path}", headers=media.auth, json={"streams": []}
            )
            assert r.status == 404, (method, path, r.status)
        assert set(media.server.defs) == {"1/main", "2/main", "3/main"}  # nothing replaced
        # The internal listener answers them.
        r = await http.get(f"{media.internal}/internal/keyframe/1/main", headers=media.auth)
        assert r.status == 200 and r.headers["Content-Type"] == "video/mp4"


async def test_internal_listener_is_bound_to_127_0_0_1_only() -> None:
    server = MediaServer(secret=SECRET, opener=FakeOpener(), internal_port=0)
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", 0)  # the public port on every address
    await site.start()
    try:
        public_port = runner.addresses[0][1]
        assert server.internal_port not in (None, 0, public_port)
        # 127.0.0.2 is a local address too: the public listener answers there,
        # the internal one (bound to 127.0.0.1 alone) does not.
        with socket.create_connection(("127.0.0.2", public_port), timeout=2):
            pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", server.internal_port), timeout=2).close()
        async with aiohttp.ClientSession() as http:
            r = await http.get(
                f"http://127.0.0.1:{server.internal_port}/internal/stats",
                headers={"Authorization": f"Bearer {tickets.internal_api_token(SECRET)}"},
            )
            assert r.status == 200
    finally:
        await runner.cleanup()


async def test_wrong_token_of_the_same_length_is_refused_in_constant_time(
    media: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    good = tickets.internal_api_token(SECRET)
    wrong = ("0" if good[0] != "0" else "1") + good[1:]
    async with aiohttp.ClientSession() as http:
        for path in ("/internal/stats", "/internal/sessions", "/internal/keyframe/1/main"):
            r = await http.get(
                f"{media.internal}{path}", headers={"Authorization": f"Bearer {wrong}"}
            )
            assert r.status == 401, path
        r = await http.put(
            f"{media.internal}/internal/streams",
            headers={"Authorization": f"Bearer {wrong}"},
            json={"streams": []},
        )
        assert r.status == 401
    assert set(media.server.defs) == {"1/main", "2/main", "3/main"}
    ours = [(a, b) for a, b in compared if b.startswith(b"Bearer ")]
    assert len(ours) == 4 and all(len(a) == len(b) for a, b in ours)


async def test_stream_list_replaced_behind_the_control_plane_is_restored_at_the_next_poll(
    media: Running,
) -> None:
    from vigie.base.settings import Settings
    from vigie.control.media_directory import MediaDirectory
    from vigie.storage.models import Camera

    settings = Settings(
        secret_key=SECRET, media_base_port=media.port,
        media_internal_base_port=media.server.internal_port,
    )  # fmt: skip
    directory = MediaDirectory(settings)
    cams = [
        Camera(id=1, name="c1", commune_insee="59350", main_url="rtsp://fake/ok", enabled=True),
        Camera(id=2, name="c2", commune_insee="59350", main_url="rtsp://fake/hevc", enabled=True),
    ]

    async def load() -> list[Camera]:
        return cams

    await directory.push(cams)
    assert not await directory.poll(load)  # nothing changed: no push
    # Someone with the token swaps the list, same count: camera 1 fed from
    # camera 2's source, recording off.
    async with aiohttp.ClientSession() as http:
        r = await http.put(
            f"{media.internal}/internal/streams", headers=media.auth,
            json={"streams": [
                {"camera_id": 1, "stream": "main", "url": "rtsp://fake/hevc", "record": False},
                {"camera_id": 2, "stream": "main", "url": "rtsp://fake/hevc"},
            ]},
        )  # fmt: skip
        assert r.status == 200
    assert media.server.defs["1/main"].url == "rtsp://fake/hevc"
    assert await directory.poll(load)  # the very next poll notices and pushes again
    assert media.server.defs["1/main"].url == "rtsp://fake/ok"
    assert media.server.defs["1/main"].record is True
    assert not await directory.poll(load)  # settled
