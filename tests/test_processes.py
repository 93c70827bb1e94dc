"""The test session fails if a process it started still runs at its end
(``tests/processes.py``), even one re-parented to init; and it kills it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psutil

from tests.processes import Proc, wait_gone

REPO = Path(__file__).parents[1]

LEAKY = """
import subprocess
def test_leaks():
    # In its own session, never waited for: re-parented to init once pytest exits.
    subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
"""
TIDY = """
import subprocess
def test_tidy():
    subprocess.run(["sleep", "0"], check=True)
"""


def inner_session(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(code)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.processes",
         "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_leftover_process_fails_the_session_and_is_killed(tmp_path: Path) -> None:
    seconds = f"{600 + uuid.uuid4().int % 1000}.5"  # names this test's sleep
    done = inner_session(tmp_path, LEAKY.format(seconds=seconds))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "leftover processes" in done.stdout and f"sleep {seconds}" in done.stdout, done.stdout
    # Killed: it no longer runs.
    leaked = [Proc(p.pid, "sleep") for p in psutil.process_iter(["cmdline"])
               if p.info["cmdline"] == ["sleep", seconds]]  # fmt: skip
    assert wait_gone(leaked, 2.0) == []


def test_a_tidy_session_passes(tmp_path: Path) -> None:
    done = inner_session(tmp_path, TIDY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "leftover" not in done.stdout
