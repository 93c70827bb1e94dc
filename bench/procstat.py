"""Helpers shared by the benchmarks: process CPU time and ffmpeg progress."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s_path(path: Path) -> float:
    """CPU seconds (user + system) from a ``/proc/…/stat`` file."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by ``pid``."""
    return cpu_s_path(Path(f"/proc/{pid}/stat"))


def progress_frames(path: Path) -> int:
    """Frames an ffmpeg ``-progress FILE`` has reported so far."""
    last = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("frame="):
                last = int(line.split("=", 1)[1] or 0)
    return last


def stop_all(procs: Iterable[subprocess.Popen[bytes]], sig: int, timeout_s: float = 5) -> None:
    """Send ``sig`` to every process, then wait for each, killing the stubborn ones."""
    procs = list(procs)
    for p in procs:
        p.send_signal(sig)
    for p in procs:
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
