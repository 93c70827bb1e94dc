"""The whole of Vigie for end-to-end tests: the camera simulator (GStreamer
RTSP server), ``vigie serve`` (control plane + media process) as real
processes on free loopback ports, and a database seeded with cameras."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vigie.cli.demo import seed
from vigie.sim.clips import ClipSpec
from vigie.sim.runner import SimCamera, SimServer
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade

REPO = Path(__file__).parents[2]
SIM_CACHE = REPO / ".cache" / "sim"
SECRET = "stack-test-secret-" + "z" * 40
OPERATOR = ("operateur", "vigie-demo-operateur")
ADMIN = ("admin", "vigie-demo-admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_camera(cam_id: int, name: str, *, codec: str = "h264", gop: int = 25) -> SimCamera:
    """A cheap camera for tests: 640x360 main, 320x180 sub, 2 s loop."""
    main = ClipSpec(label=name, width=640, height=360, gop_frames=gop, bitrate_kbps=600,
                    duration_s=2, codec=codec, preset="ultrafast")  # type: ignore[arg-type]  # fmt: skip
    sub = ClipSpec(label=name, width=320, height=180, gop_frames=gop, bitrate_kbps=200,
                   duration_s=2, codec=codec, profile="baseline", preset="ultrafast")  # type: ignore[arg-type]  # fmt: skip
    return SimCamera(id=cam_id, name=name, main=main, sub=sub)


@dataclass
class Stack:
    base_url: str
    media_port: int
    sim: SimServer
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    media_internal_port: int = 0  # the internal API, 127.0.0.1 only
    camera_ids: dict[str, int] = field(default_factory=dict)

    def client(self, account: tuple[str, str] = OPERATOR) -> httpx.Client:
        c = httpx.Client(base_url=self.base_url, timeout=10)
        r = c.post("/api/auth/login", json={"username": account[0], "password": account[1]})
        r.raise_for_status()
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
        return c

    def cameras(self, client: httpx.Client) -> dict[str, dict[str, Any]]:
        r = client.get("/api/cameras")
        assert r.status_code == 200, r.text
        return {c["name"]: c for c in r.json()}

    def wait_for(self, client: httpx.Client, predicate: Any, timeout_s: float, what: str) -> float:
        """Poll the camera list until ``predicate(cameras)``; return the seconds it took."""
        t0 = time.monotonic()
        last: Any = None
        while time.monotonic() - t0 < timeout_s:
            last = self.cameras(client)
            if predicate(last):
                return time.monotonic() - t0
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def recorded(self, camera_id: int, seconds: float, timeout_s: float = 40) -> list[Any]:
        """Wait until ``seconds`` of the camera's recording are indexed; its segments."""
        from sqlalchemy import select

        from vigie.recording.models import RecordingSegment

        engine = make_engine(f"sqlite:///{Path(self.env['VIGIE_DATA_DIR']) / 'vigie.db'}")
        factory = make_sessionmaker(engine)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                with session_scope(factory) as db:
                    segs = list(
                        db.scalars(
                            select(RecordingSegment)
                            .where(RecordingSegment.camera_id == camera_id)
                            .order_by(RecordingSegment.start_utc)
                        )
                    )
                if segs and (segs[-1].end_utc - segs[0].start_utc).total_seconds() >= seconds:
                    return segs
                assert time.monotonic() < deadline, "recording not indexed"
                time.sleep(0.5)
        finally:
            engine.dispose()


@contextmanager
def running_stack(
    tmp_path: Path,
    cameras: Sequence[SimCamera],
    *,
    extra: Sequence[tuple[str, str, str]] = (),
    sim_port: int = 0,
) -> Iterator[Stack]:
    """Start simulator + Vigie. ``extra``: more cameras (name, commune, url) not on the simulator."""
    sim = SimServer(cameras, port=sim_port, cache_dir=SIM_CACHE)
    sim.start()
    web_port, media_port, internal_port = free_port(), free_port(), free_port()
    data_dir = tmp_path / "vigie"
    env = dict(os.environ)
    env.update(
        VIGIE_DATA_DIR=str(data_dir), VIGIE_SECRET_KEY=SECRET, VIGIE_PORT=str(web_port),
        VIGIE_MEDIA_BASE_PORT=str(media_port), VIGIE_MEDIA_INTERNAL_BASE_PORT=str(internal_port),
        VIGIE_DEMO="0", VIGIE_LOG_LEVEL="INFO",
        VIGIE_TOTP_REQUIRED="0",
    )  # fmt: skip
    data_dir.mkdir(parents=True)
    url = f"sqlite:///{data_dir / 'vigie.db'}"
    upgrade(url)
    communes = ["59350", "59512", "59599", "59009"]
    rows: list[tuple[str, str, str, str | None]] = [
        (c.name, communes[i % 4], sim.url(c.id, "main"), sim.url(c.id, "sub") if c.sub else None)
        for i, c in enumerate(cameras)
    ]
    rows += [(name, commune, u, None) for name, commune, u in extra]
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as s:
        seed(s, rows, admin_data=False, lille_nights_only=False)
    engine.dispose()
    log_path = tmp_path / "vigie.log"
    proc = spawn_serve(env, log_path)
    stack = Stack(
        f"http://127.0.0.1:{web_port}", media_port, sim, proc, env, log_path, internal_port
    )
    try:
        wait_web(stack)
        yield stack
    finally:
        with_group_signal(stack.proc, signal.SIGTERM)
        try:
            stack.proc.wait(10)
        except subprocess.TimeoutExpired:
            with_group_signal(stack.proc, signal.SIGKILL)
            stack.proc.wait(5)
        sim.close()


def media_children(proc: subprocess.Popen[bytes]) -> list[int]:
    """Pids of the ``vigie media`` processes ``vigie serve`` (``proc``) started. The
    supervisor starts them from its own thread: every thread's children count."""
    tasks = Path(f"/proc/{proc.pid}/task").iterdir()
    children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
    return [c for c in children if b"media" in Path(f"/proc/{c}/cmdline").read_bytes()]


def spawn_serve(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``vigie serve`` in its own process group, its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "vigie.cli.main", "serve"], env=env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip


def wait_web(stack: Stack, timeout_s: float = 30) -> None:
    """Wait until the web server of ``stack.proc`` answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{stack.base_url}/api/i18n", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if stack.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"vigie serve did not start:\n{stack.log()}")
        time.sleep(0.2)


def with_group_signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
