"""``vigie serve``: the control plane plus its media processes, supervised.

Media processes are separate OS processes (never on the web server's loop);
one that dies is restarted. Each dies with ``vigie serve`` however that ends
(``vigie.base.lifeline``). Ports already taken stop the start-up before
anything is started, naming the process that holds them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from vigie.base.clock import Clock, RealClock
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.base.lifeline import Lifeline, raise_on_sigterm
from vigie.base.log import setup_logging
from vigie.base.ports import can_listen, port_holders
from vigie.base.settings import MEDIA_INTERNAL_HOST, Settings

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the web server and the media processes"
    )
    p.set_defaults(func=_run)


CHECKS_INDEX = -1  # the image-checks process (``vigie checks``), supervised alike
# A child that ran this long before it exited is restarted at once; one that keeps
# dying sooner waits 1, 2, 4… s (at most RESTART_MAX_DELAY_S) before each restart, so
# that a crash loop (a port taken, a broken file) does not spin a core and the log.
RESTART_STABLE_S = 30.0
RESTART_MAX_DELAY_S = 60.0


class MediaSupervisor:
    """Starts ``settings.media_processes`` media processes and restarts any that exits.

    Every child is started from the supervisor's own thread, which lives as
    long as the supervisor: ``PR_SET_PDEATHSIG`` ties a child to the thread
    that forked it (see ``vigie.base.lifeline``)."""

    def __init__(
        self, settings: Settings, env: dict[str, str] | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._clock: Clock = clock or RealClock()  # the supervisor's own waits
        self._lifeline = Lifeline()
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="media-supervisor", daemon=True)
        self._started_at: dict[int, float] = {}
        self._delay: dict[int, float] = {}  # the last restart delay of a child dying young
        self._restart_at: dict[int, float] = {}

    def command(self, index: int) -> list[str]:
        if index == CHECKS_INDEX:
            return [sys.executable, "-m", "vigie.cli.main", "checks"]
        return [sys.executable, "-m", "vigie.cli.main", "media", "--index", str(index)]

    def _spawn(self, index: int) -> None:
        self.procs[index] = subprocess.Popen(
            self.command(index), **self._lifeline.popen_kwargs(self.env)
        )
        self._started_at[index] = self._clock.monotonic()

    def check(self) -> None:
        """One look at the children: restart those that exited, at once after a long
        run, with a growing delay for one that keeps dying young."""
        now = self._clock.monotonic()
        for index, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None or self._stop.is_set():
                continue
            if index not in self._restart_at:
                lived = now - self._started_at[index]
                last = self._delay.get(index)
                if lived >= RESTART_STABLE_S or last is None:
                    delay = 0.0
                else:
                    delay = min(RESTART_MAX_DELAY_S, max(1.0, 2 * last))
                self._delay[index] = delay
                self._restart_at[index] = now + delay
                log.warning(
                    "media process %d exited with %s after %.1f s; restarting in %.0f s",
                    index, code, lived, delay,
                )  # fmt: skip
            if now >= self._restart_at[index]:
                del self._restart_at[index]
                self._spawn(index)

    def start(self) -> None:
        """Start the children (from the supervisor's thread); return once they are."""
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        try:
            for i in range(self.settings.media_processes):
                self._spawn(i)
            if self.settings.image_checks:
                self._spawn(CHECKS_INDEX)
        finally:
            self._started.set()
        while not self._stop.wait(1.0):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = self._clock.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - self._clock.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._lifeline.close()


@dataclass(frozen=True)
class Listener:
    """A port ``vigie serve`` listens on (itself or through a child)."""

    what: str  # for people
    host: str
    port: int
    variable: str  # the setting that chooses it


def listeners(settings: Settings) -> list[Listener]:
    out = [Listener(t("serve.port.web"), settings.host, settings.port, "VIGIE_PORT")]
    out += [
        Listener(
            t("serve.port.media", index=i),
            settings.media_host,
            settings.media_base_port + i,
            "VIGIE_MEDIA_BASE_PORT",
        )
        for i in range(settings.media_processes)
    ]
    out += [
        Listener(
            t("serve.port.media_internal", index=i),
            MEDIA_INTERNAL_HOST,
            settings.media_internal_port(i),
            "VIGIE_MEDIA_INTERNAL_BASE_PORT",
        )
        for i in range(settings.media_processes)
    ]
    return out


def check_ports(settings: Settings, *, also: list[Listener] | None = None) -> None:
    """Refuse to start (``FailedPrecondition``) if a port is asked twice or taken,
    naming the process that holds it. ``also``: more ports the caller will use."""
    wanted = [*listeners(settings), *(also or [])]
    for i, listener in enumerate(wanted):
        for first in wanted[:i]:
            if first.port == listener.port and _same_address(first.host, listener.host):
                raise FailedPrecondition(
                    t("serve.error.port_twice", port=listener.port, first=first.what,
                      second=listener.what)
                )  # fmt: skip
    for listener in wanted:
        if can_listen(listener.host, listener.port):
            continue
        holders = port_holders(listener.port)
        key = "serve.error.port_taken" if holders else "serve.error.port_taken_unknown"
        raise FailedPrecondition(
            t(key, port=listener.port, what=listener.what, host=listener.host,
              variable=listener.variable, pid=holders[0].pid if holders else "",
              cmdline=holders[0].cmdline if holders else "")
        )  # fmt: skip


def _same_address(a: str, b: str) -> bool:
    """Whether two listen addresses can collide (equal, or one is a wildcard)."""
    wildcards = {"", "0.0.0.0", "::"}
    return a == b or a in wildcards or b in wildcards


def serve(settings: Settings, *, banner: str | None = None, clock: Clock | None = None) -> None:
    import uvicorn

    from vigie.control.app import create_app
    from vigie.storage.migrate import upgrade

    check_ports(settings)
    # uvicorn shuts down gracefully on SIGTERM, then raises SIGTERM again with the
    # handler it found: with the default one the process would die there, before
    # the ``finally`` below stops the media processes.
    raise_on_sigterm()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, secret_key=settings.secret_key)
    supervisor = MediaSupervisor(settings, clock=clock)
    try:
        supervisor.start()
        app = create_app(settings, clock=clock)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        if banner:
            print(banner, flush=True)
        server.run()
    finally:
        supervisor.stop()


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    setup_logging(settings.log_level, "vigie")
    serve(settings, banner=f"Vigie: http://{settings.host}:{settings.port}/", clock=args.clock)
    return 0
