"""``vigie serve``: the control plane plus its media processes, supervised.

Media processes are separate OS processes (never on the web server's loop);
one that dies is restarted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from vigie.base.clock import Clock, RealClock
from vigie.base.log import setup_logging
from vigie.base.settings import Settings

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the web server and the media processes"
    )
    p.set_defaults(func=_run)


CHECKS_INDEX = -1  # the image-checks process (``vigie checks``), supervised alike


class MediaSupervisor:
    """Starts ``settings.media_processes`` media processes and restarts any that exits."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._clock: Clock = RealClock()  # the supervisor's own waits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="media-supervisor", daemon=True)

    def _spawn(self, index: int) -> None:
        cmd = [sys.executable, "-m", "vigie.cli.main", "media", "--index", str(index)]
        if index == CHECKS_INDEX:
            cmd = [sys.executable, "-m", "vigie.cli.main", "checks"]
        self.procs[index] = subprocess.Popen(cmd, env=self.env)

    def start(self) -> None:
        for i in range(self.settings.media_processes):
            self._spawn(i)
        if self.settings.image_checks:
            self._spawn(CHECKS_INDEX)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            for index, proc in list(self.procs.items()):
                code = proc.poll()
                if code is not None and not self._stop.is_set():
                    log.warning("media process %d exited with %s; restarting", index, code)
                    self._spawn(index)

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = self._clock.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - self._clock.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def serve(settings: Settings, *, banner: str | None = None) -> None:
    import uvicorn

    from vigie.control.app import create_app
    from vigie.storage.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, secret_key=settings.secret_key)
    supervisor = MediaSupervisor(settings)
    supervisor.start()
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    if banner:
        print(banner, flush=True)
    try:
        server.run()
    finally:
        supervisor.stop()


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    setup_logging(settings.log_level, "vigie")
    serve(settings, banner=f"Vigie: http://{settings.host}:{settings.port}/")
    return 0
