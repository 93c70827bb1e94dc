"""Processes die with their parent (issue #12 item 3): a SIGKILLed ``vigie serve``
leaves no process behind within 2 s, and the next ``vigie serve`` opens exactly
one RTSP session per camera stream — seen from the simulated cameras."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.stack import running_stack, small_camera, spawn_serve, wait_web
from tests.processes import Proc, descendants, marked, wait_gone
from vigie.sim.runner import SimServer

pytestmark = pytest.mark.integration

CAMERAS = [small_camera(1, "Beffroi"), small_camera(2, "Gare")]


def wait_sessions(sim: SimServer, timeout_s: float) -> dict[str, int]:
    """Wait until every stream is played at least once; the counts then."""
    deadline = time.monotonic() + timeout_s
    counts = sim.sessions()
    while min(counts.values()) < 1:
        assert time.monotonic() < deadline, f"streams not all played after {timeout_s} s: {counts}"
        time.sleep(0.2)
        counts = sim.sessions()
    return counts


def vigie_processes(data_dir: str) -> list[Proc]:
    """Every running process of this Vigie (they all carry its data directory)."""
    return marked("VIGIE_DATA_DIR", data_dir)


def commands(procs: list[Proc]) -> list[str]:
    """The ``vigie`` commands among ``procs`` (``media``, ``checks``…), sorted."""
    marker = "vigie.cli.main "
    return sorted(p.cmdline.split(marker, 1)[1].split()[0] for p in procs if marker in p.cmdline)


def test_sigkilled_serve_leaves_nothing_and_restart_opens_one_session_per_stream(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path, CAMERAS) as st:
        data_dir = st.env["VIGIE_DATA_DIR"]
        assert wait_sessions(st.sim, 40) == dict.fromkeys(st.sim.sessions(), 1)
        children = descendants(st.proc.pid)
        assert commands(children) == ["checks", "media"], children

        os.kill(st.proc.pid, signal.SIGKILL)  # the process only, not its group
        st.proc.wait()
        left = wait_gone(sorted(set(vigie_processes(data_dir) + children), key=str), 2.0)
        assert left == [], f"still running 2 s after vigie serve was SIGKILLed: {left}"

        st.proc = spawn_serve(st.env, st.log_path)
        wait_web(st)
        counts = wait_sessions(st.sim, 40)
        time.sleep(3)  # a second set of sessions would show by now
        counts = st.sim.sessions()
        assert counts == dict.fromkeys(counts, 1), counts
        assert len(counts) == 4  # two cameras, main and sub
