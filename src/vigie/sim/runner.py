"""Start and control the simulated cameras' RTSP server from the venv.

``SimServer`` encodes (or finds in the cache) every camera's clips, writes the
JSON config read by ``gst_server.py`` and runs that script with the system
Python (which has GStreamer's ``gi`` bindings) in its own process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from vigie.base.clock import Clock, RealClock
from vigie.sim.clips import Clip, ClipSpec, ensure_clips

SYSTEM_PYTHON = "/usr/bin/python3"
GST_SERVER = Path(__file__).with_name("gst_server.py")
CACHE_ENV = "VIGIE_SIM_CACHE"

Stream = Literal["main", "sub"]


class SimServerError(RuntimeError):
    """The simulator server could not be started or controlled."""


@dataclass(frozen=True)
class SimCamera:
    """One simulated camera: a main stream, an optional sub stream.

    With ``main_alternate`` and ``switch_every_s``, the main stream moves
    between ``main`` and ``main_alternate`` (e.g. another resolution) at the
    first loop end after every ``switch_every_s`` seconds. Both clips must
    share codec and fps.
    """

    id: int
    name: str
    main: ClipSpec
    sub: ClipSpec | None = None
    main_alternate: ClipSpec | None = None
    switch_every_s: float | None = None

    def __post_init__(self) -> None:
        alt = self.main_alternate
        if alt is not None and (alt.codec != self.main.codec or alt.fps != self.main.fps):
            raise ValueError(f"camera {self.id}: main_alternate must share codec and fps with main")
        if (alt is None) != (self.switch_every_s is None):
            raise ValueError(
                f"camera {self.id}: set both main_alternate and switch_every_s, or neither"
            )


def default_cache_dir() -> Path:
    """``$VIGIE_SIM_CACHE`` or ``.cache/sim`` under the working directory."""
    return Path(os.environ.get(CACHE_ENV, ".cache/sim"))


class SimServer:
    """N simulated RTSP cameras served by one ``gst_server.py`` process.

    Usage::

        with SimServer(cameras, port=0) as sim:
            url = sim.url(1, "main")  # rtsp://127.0.0.1:PORT/cam/1/main

    ``port=0`` picks a free port on the first start; ``restart()`` keeps it.
    """

    def __init__(
        self,
        cameras: Sequence[SimCamera],
        *,
        port: int = 0,
        bind: str = "127.0.0.1",
        cache_dir: Path | None = None,
        ready_timeout_s: float = 30.0,
        encode_jobs: int = 2,
        python: str = SYSTEM_PYTHON,
    ) -> None:
        ids = [c.id for c in cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be unique: {ids}")
        self.cameras = {c.id: c for c in cameras}
        self.bind = bind
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.ready_timeout_s = ready_timeout_s
        self.encode_jobs = encode_jobs
        self.python = python
        self._requested_port = port
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._config: Path | None = None
        self._clock: Clock = RealClock()  # waits for the server to start only

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Ensure the clips, write the config, start the server, wait for READY."""
        if self.running:
            raise SimServerError("the simulator is already running")
        if self._config is None:
            self._config = self._write_config()
        self._spawn(self._port if self._port is not None else self._requested_port)

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM the server and wait for it (SIGKILL after ``timeout_s``)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait()
        self._reap()

    def kill(self) -> None:
        """SIGKILL the server, as a crashing camera would die (fault tests)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGKILL)
            self._proc.wait()
        self._reap()

    def restart(self) -> None:
        """Stop if running, then start again on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its config directory."""
        self.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = self._config = None

    # -- queries -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def port(self) -> int:
        if self._port is None:
            raise SimServerError("the simulator has not been started yet")
        return self._port

    def url(self, camera_id: int, stream: Stream = "main") -> str:
        camera = self.cameras.get(camera_id)
        if camera is None:
            raise KeyError(f"no simulated camera {camera_id}; known: {sorted(self.cameras)}")
        if stream == "sub" and camera.sub is None:
            raise KeyError(f"simulated camera {camera_id} has no sub stream")
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "") else self.bind
        return f"rtsp://{host}:{self.port}{mount_path(camera_id, stream)}"

    def urls(self) -> dict[int, dict[str, str]]:
        """Every camera's stream URLs: ``{id: {"main": url, "sub": url}}``."""
        out: dict[int, dict[str, str]] = {}
        for cam in self.cameras.values():
            out[cam.id] = {"main": self.url(cam.id, "main")}
            if cam.sub is not None:
                out[cam.id]["sub"] = self.url(cam.id, "sub")
        return out

    def sessions(self) -> dict[str, int]:
        """Clients now playing each stream, by mount path (``/cam/1/main``)."""
        if self._workdir is None or not self.running:
            raise SimServerError("the simulator is not running")
        counts: dict[str, int] = json.loads((self._workdir / "sessions.json").read_text())
        return counts

    # -- internals ---------------------------------------------------------

    def _write_config(self) -> Path:
        specs: list[ClipSpec] = []
        for cam in self.cameras.values():
            specs += [s for s in (cam.main, cam.main_alternate, cam.sub) if s is not None]
        clips = dict(
            zip(specs, ensure_clips(specs, self.cache_dir, jobs=self.encode_jobs), strict=True)
        )
        mounts: list[dict[str, Any]] = []
        for cam in self.cameras.values():
            main = [clips[cam.main]]
            if cam.main_alternate is not None:
                main.append(clips[cam.main_alternate])
            mounts.append(_mount(mount_path(cam.id, "main"), main, cam.switch_every_s))
            if cam.sub is not None:
                mounts.append(_mount(mount_path(cam.id, "sub"), [clips[cam.sub]], None))
        self._workdir = Path(tempfile.mkdtemp(prefix="vigie-sim-"))
        config = self._workdir / "config.json"
        config.write_text(
            json.dumps(
                {
                    "bind": self.bind,
                    "port": 0,
                    "watch_stdin": True,
                    "sessions_file": str(self._workdir / "sessions.json"),
                    "mounts": mounts,
                },
                indent=1,
            )
        )
        return config

    def _spawn(self, port: int) -> None:
        assert self._config is not None and self._workdir is not None
        config = json.loads(self._config.read_text())
        config["port"] = port
        self._config.write_text(json.dumps(config, indent=1))
        deadline = self._clock.monotonic() + self.ready_timeout_s
        while True:
            stdout = self._workdir / "stdout.txt"
            stderr = self._workdir / "stderr.txt"
            with stdout.open("wb") as out, stderr.open("wb") as err:
                self._proc = subprocess.Popen(
                    [self.python, str(GST_SERVER), str(self._config)],
                    stdin=subprocess.PIPE,  # EOF when we die: the server exits too
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            ready = self._wait_ready(stdout, deadline)
            if ready is not None:
                self._port = ready
                return
            # After a kill, a fixed port may be briefly unavailable: retry.
            if port != 0 and self._clock.monotonic() < deadline:
                self._clock.sleep(0.2)
                continue
            self.kill()
            raise SimServerError(
                f"simulator server did not become ready within {self.ready_timeout_s:.0f} s "
                f"(port {port}); stderr: {stderr.read_text(errors='replace')[-2000:] or '(empty)'}"
            )

    def _wait_ready(self, stdout: Path, deadline: float) -> int | None:
        assert self._proc is not None
        while self._clock.monotonic() < deadline:
            for line in stdout.read_text(errors="replace").splitlines():
                if line.startswith("READY port="):
                    return int(line.split("=", 1)[1])
            if self._proc.poll() is not None:
                self._reap()
                return None
            self._clock.sleep(0.05)
        return None

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _reap(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc = None


def mount_path(camera_id: int, stream: Stream) -> str:
    return f"/cam/{camera_id}/{stream}"


def _mount(path: str, clips: list[Clip], switch_every_s: float | None) -> dict[str, Any]:
    first = clips[0].spec
    return {
        "path": path,
        "codec": first.codec,
        "fps": first.fps,
        "switch_every_s": switch_every_s,
        "clips": [
            {
                "stream": str(c.stream_path),
                "index": str(c.index_path),
                "duration_s": c.spec.duration_s,
            }
            for c in clips
        ],
    }


_PLACES = (
    "Grand Place",
    "Gare",
    "Mairie",
    "Marché",
    "Parc",
    "Église",
    "Rue Nationale",
    "Place du Général",
    "Port",
    "Stade",
    "Collège",
    "Rond-point",
)


def demo_cameras(
    communes: Sequence[str], count: int = 12, *, duration_s: int = 10, first_id: int = 1
) -> list[SimCamera]:
    """``count`` varied cameras spread over ``communes`` (for ``make demo``).

    Mains alternate 1920x1080 and 1280x720 (H.264 high/main), GOPs 25 and 50,
    camera 5 (if any) is H.265; every camera has a 640x360 baseline sub
    stream. Labels look like "Lille — Grand Place 01".
    """
    if not communes:
        raise ValueError("demo_cameras needs at least one commune name")
    cameras: list[SimCamera] = []
    for i in range(count):
        commune = communes[i % len(communes)]
        label = f"{commune} — {_PLACES[i % len(_PLACES)]} {i + 1:02d}"
        gop = 50 if i % 2 == 0 else 25
        hevc = i == 4
        if i % 3 == 0 and not hevc:
            width, height, kbps = 1920, 1080, 2500
        else:
            width, height, kbps = 1280, 720, 1200
        main = ClipSpec(
            label=label,
            width=width,
            height=height,
            fps=25,
            gop_frames=gop,
            bitrate_kbps=kbps,
            duration_s=duration_s,
            codec="hevc" if hevc else "h264",
            profile="high" if i % 2 == 0 else "main",
            preset="ultrafast" if hevc else "superfast",
        )
        sub = ClipSpec(
            label=label,
            width=640,
            height=360,
            fps=25,
            gop_frames=gop,
            bitrate_kbps=400,
            duration_s=duration_s,
            profile="baseline",
        )
        cameras.append(SimCamera(id=first_id + i, name=label, main=main, sub=sub))
    return cameras
