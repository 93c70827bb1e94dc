"""``vigie demo`` as a user runs it: its media server refuses tickets signed with
the public placeholder secret (issue #13 item 10), and SIGTERM leaves no media,
checks or simulator process behind (issue #13 item 14, issue #12 item 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import SIM_CACHE, free_port
from tests.processes import Proc, alive, descendants, kill, wait_gone
from vigie.base.settings import PLACEHOLDER_SECRET
from vigie.cli.demo import DEMO_SECRET_FILE
from vigie.domain import tickets

pytestmark = pytest.mark.integration

# The first run encodes the demo's clips into the shared cache (minutes on 2 cores).
START_TIMEOUT_S = 600


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.web_port, self.media_port, self.sim_port = free_port(), free_port(), free_port()
        self.data_dir = tmp_path / "demo"
        self.log_path = tmp_path / "demo.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
        env.update(
            VIGIE_PORT=str(self.web_port), VIGIE_MEDIA_BASE_PORT=str(self.media_port),
            VIGIE_SIM_CACHE=str(SIM_CACHE), VIGIE_TEST_SESSION=os.environ["VIGIE_TEST_SESSION"],
        )  # fmt: skip
        cmd = [sys.executable, "-m", "vigie.cli.main", "demo", "--data-dir", str(self.data_dir),
               "--sim-port", str(self.sim_port)]  # fmt: skip
        self.family: list[Proc] = []  # its processes once ready
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=tmp_path, stdout=log, stderr=log, start_new_session=True
            )

    def wait_ready(self) -> None:
        """The web server and the media process answer."""
        deadline = time.monotonic() + START_TIMEOUT_S
        urls = [f"http://127.0.0.1:{self.web_port}/api/i18n",
                f"http://127.0.0.1:{self.media_port}/healthz"]  # fmt: skip
        while True:
            try:
                if all(httpx.get(url, timeout=1).status_code == 200 for url in urls):
                    self.family = descendants(self.proc.pid)
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"vigie demo did not start:\n{self.log()}")
            time.sleep(0.5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        """Whatever the test did, nothing of this demo is left running."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        kill(alive(self.family))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    try:
        d.wait_ready()
        yield d
    finally:
        d.stop()


def live_status(demo: Demo, secret: str) -> int:
    _, token = tickets.issue(
        secret, camera_id=1, stream="main", account_id=1, commune="59350",
        now_s=time.time(), ttl_s=30, purpose="live",
    )  # fmt: skip
    url = f"http://127.0.0.1:{demo.media_port}/live/1/main"
    return httpx.get(url, params={"ticket": token}, timeout=5).status_code


def test_demo_media_server_refuses_the_placeholder_secret(demo: Demo) -> None:
    secret_file = demo.data_dir / DEMO_SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text().strip()
    assert secret != PLACEHOLDER_SECRET and len(secret) >= 32
    assert live_status(demo, PLACEHOLDER_SECRET) == 401
    # The demo's own secret gets past the signature check (not a WebSocket, though).
    assert live_status(demo, secret) != 401


def test_sigterm_to_demo_leaves_no_process(demo: Demo) -> None:
    children = demo.family
    names = " ".join(c.cmdline for c in children)
    assert "vigie.cli.main media" in names and "vigie.cli.main checks" in names, names
    assert "gst_server.py" in names, names
    demo.proc.send_signal(signal.SIGTERM)
    # Dies by the signal, as whoever sent it expects (systemd: a clean stop),
    # after its media processes, image checks and simulator.
    assert demo.proc.wait(15) == -signal.SIGTERM, demo.log()
    assert wait_gone(children, 2.0) == [], demo.log()
