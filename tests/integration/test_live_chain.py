"""The media core end to end against an RTSP server not written in this
project (GStreamer's rtsp-server, run from /usr/bin/python3 by the simulator):
ingest, status in plain words, camera faults, recovery, live over WebSocket."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.integration.stack import (
    OPERATOR,
    SIM_CACHE,
    media_children,
    running_stack,
    small_camera,
)
from vigie.sim.clips import ClipSpec
from vigie.sim.runner import SimCamera, SimServer

pytestmark = pytest.mark.integration


class JunkServer:
    """A TCP server that answers anything with garbage: a camera gone mad."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                conn.recv(4096)
                conn.sendall(b"\x17\x03\x03garbage \xff\xfe not RTSP at all\r\n\r\n" * 20)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


def status(cams: dict[str, dict[str, Any]], name: str, stream: str = "main") -> dict[str, Any]:
    st: dict[str, Any] = cams[name]["status"].get(stream, {})
    return st


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("chain")
    alt = ClipSpec(label="Alternance", width=320, height=240, gop_frames=25, bitrate_kbps=300,
                   duration_s=2, preset="ultrafast")  # fmt: skip
    switching = SimCamera(
        id=3, name="Changeante", main=small_camera(3, "Changeante").main, main_alternate=alt,
        switch_every_s=4,
    )  # fmt: skip
    cameras = [small_camera(1, "Beffroi"), small_camera(2, "Gare"), switching,
               small_camera(4, "Parc HEVC", codec="hevc")]  # fmt: skip
    # A camera on a separate RTSP server, to be killed and brought back.
    lone = SimServer([small_camera(9, "Isolée")], cache_dir=SIM_CACHE)
    lone.start()
    junk = JunkServer()
    extra = [
        ("Isolée", "59350", lone.url(9, "main")),
        ("Bavarde", "59512", f"rtsp://127.0.0.1:{junk.port}/stream"),
        ("Absente", "59599", f"rtsp://127.0.0.1:{free_closed_port()}/stream"),
    ]
    with running_stack(tmp, cameras, extra=extra) as stack:
        client = stack.client(OPERATOR)
        stack.wait_for(
            client,
            lambda c: all(status(c, n)["state"] == "online" for n in ("Beffroi", "Gare", "Isolée")),
            30,
            "cameras online",
        )
        yield {"stack": stack, "client": client, "lone": lone, "junk": junk}
        client.close()
    lone.close()
    junk.close()


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ingest_from_gstreamer_rtsp_server(chain: dict[str, Any]) -> None:
    stack, client = chain["stack"], chain["client"]
    stack.wait_for(client, lambda c: status(c, "Beffroi")["gop_frames"], 10, "statistics")
    time.sleep(2.5)  # one full statistics window
    cams = stack.cameras(client)
    main, sub = status(cams, "Beffroi", "main"), status(cams, "Beffroi", "sub")
    assert (main["codec"], main["width"], main["height"]) == ("h264", 640, 360)
    assert (sub["width"], sub["height"]) == (320, 180)
    assert 23 <= main["fps"] <= 27
    assert main["gop_frames"] == 25
    assert main["bitrate_kbps"] > 50
    assert main["last_packet_age_s"] < 1
    assert main["error_code"] is None


def test_h265_camera_is_listed_with_a_clear_message(chain: dict[str, Any]) -> None:
    stack, client = chain["stack"], chain["client"]
    stack.wait_for(client, lambda c: status(c, "Parc HEVC").get("codec") == "hevc", 15, "HEVC seen")
    cam = stack.cameras(client)["Parc HEVC"]
    st = status(stack.cameras(client), "Parc HEVC")
    assert st["state"] == "online" and st["live_playable"] is False
    assert "H.265" in st["message"]
    ticket = client.post(f"/api/cameras/{cam['id']}/tickets", json={"stream": "main"}).json()
    assert ticket["live_playable"] is False and "H.265" in ticket["message"]
    with connect(ticket["url"]) as ws:
        msg = json.loads(ws.recv(timeout=5))
    assert msg["code"] == "codec_unsupported" and "H.265" in msg["message"]


def test_unreachable_and_junk_cameras_are_explained(chain: dict[str, Any]) -> None:
    stack, client = chain["stack"], chain["client"]
    stack.wait_for(
        client,
        lambda c: (
            status(c, "Absente")["state"] == "offline"
            and status(c, "Bavarde")["state"] == "offline"
        ),
        5,
        "faulty cameras reported",
    )
    cams = stack.cameras(client)
    absent, junk = status(cams, "Absente"), status(cams, "Bavarde")
    assert absent["error_code"] == "refused" and "refuse la connexion" in absent["message"]
    assert junk["error_code"] in ("invalid_data", "ended", "reset") and junk["message"]
    assert chain["junk"].connections >= 1
    # The healthy cameras are untouched.
    assert status(cams, "Beffroi")["state"] == "online"


def test_camera_killed_and_restarted(chain: dict[str, Any]) -> None:
    stack, client, lone = chain["stack"], chain["client"], chain["lone"]
    before = status(stack.cameras(client), "Isolée")["reconnects"]
    lone.kill()
    took = stack.wait_for(
        client,
        lambda c: status(c, "Isolée")["state"] in ("offline", "stalled"),
        5,
        "camera reported down",
    )
    cams = stack.cameras(client)
    assert status(cams, "Isolée")["message"], "the status says what is wrong"
    assert (
        status(cams, "Beffroi")["state"] == "online" and status(cams, "Gare")["state"] == "online"
    )
    assert took <= 5
    time.sleep(2)
    lone.restart()
    back = stack.wait_for(
        client, lambda c: status(c, "Isolée")["state"] == "online", 10, "camera back"
    )
    assert back <= 10
    assert status(stack.cameras(client), "Isolée")["reconnects"] > before


def test_resolution_change_is_noticed(chain: dict[str, Any]) -> None:
    stack, client = chain["stack"], chain["client"]
    seen: set[tuple[int, int]] = set()

    def both_sizes(c: dict[str, dict[str, Any]]) -> bool:
        st = status(c, "Changeante")
        if st.get("width"):
            seen.add((st["width"], st["height"]))
        return len(seen) >= 2

    stack.wait_for(client, both_sizes, 20, "both resolutions")
    assert seen >= {(640, 360), (320, 240)}
    assert "Résolution changée" in (status(stack.cameras(client), "Changeante")["last_event"] or "")


def test_live_websocket_through_the_whole_chain(chain: dict[str, Any]) -> None:
    stack, client = chain["stack"], chain["client"]
    cam = stack.cameras(client)["Gare"]
    ticket = client.post(f"/api/cameras/{cam['id']}/tickets", json={"stream": "sub"}).json()
    t0 = time.monotonic()
    frames = 0
    with connect(ticket["url"], max_size=None) as ws:
        header = json.loads(ws.recv(timeout=5))
        assert header["type"] == "init" and (header["width"], header["height"]) == (320, 180)
        assert ws.recv(timeout=5)[4:8] == b"ftyp"  # type: ignore[index]
        first = ws.recv(timeout=5)
        ttff = time.monotonic() - t0
        assert first[4:8] == b"moof"  # type: ignore[index]
        start = time.monotonic()
        while time.monotonic() - start < 3:
            msg = ws.recv(timeout=2)
            if isinstance(msg, bytes) and msg[4:8] == b"moof":
                frames += 1
    assert ttff < 1.0
    assert frames >= 65  # 25 fps for 3 s, less scheduling slack on 2 cores
    # One upstream connection whatever the number of viewers: the ticket is single-use.
    with pytest.raises(Exception, match="403"):
        connect(ticket["url"]).close()


def test_media_process_is_restarted_and_resumes(chain: dict[str, Any], tmp_path: Path) -> None:
    stack, client = chain["stack"], chain["client"]
    admin = stack.client(("admin", "vigie-demo-admin"))
    pid = admin.get("/api/media/stats").json()
    admin.close()
    assert pid["nodes"][0]["error"] is None
    # Find the media process among vigie serve's children and kill it hard.
    media = media_children(stack.proc)
    assert media
    os.kill(media[0], signal.SIGKILL)
    # The supervisor restarts it within a second or so, often before the control
    # plane's next poll could see it down: watch for the new process itself.
    deadline = time.monotonic() + 10
    while not [p for p in media_children(stack.proc) if p != media[0]]:
        assert time.monotonic() < deadline, "the media process was not restarted"
        time.sleep(0.1)
    stack.wait_for(client, lambda c: status(c, "Beffroi")["state"] == "online", 20, "media back")

    def new_process_serves_frames(cams: dict[str, Any]) -> bool:  # not just the last poll's status
        cam = cams["Beffroi"]
        ticket = client.post(f"/api/cameras/{cam['id']}/tickets", json={"stream": "sub"}).json()
        try:
            with connect(ticket["url"], max_size=None) as ws:
                json.loads(ws.recv(timeout=5))
                return ws.recv(timeout=5)[4:8] == b"ftyp" and ws.recv(timeout=5)[4:8] == b"moof"  # type: ignore[index]
        except Exception:
            return False

    stack.wait_for(client, new_process_serves_frames, 20, "frames from the restarted process")
