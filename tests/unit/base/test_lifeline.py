"""Children die with their parent (``vigie.base.lifeline``), with real processes:
a parent started by the test starts a child, the test SIGKILLs the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from tests.processes import Proc, wait_gone
from vigie.base.lifeline import EXIT_ORPHANED

SRC = str(Path(__file__).parents[3] / "src")

# The parent: starts one child as the supervisor does, prints its pid, waits.
PARENT = """
import subprocess, sys, threading
from vigie.base.lifeline import Lifeline, die_with_parent
kind = sys.argv[1]
if kind == "external":
    child = subprocess.Popen(["sleep", "600"], preexec_fn=die_with_parent())
else:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind], **Lifeline().popen_kwargs(dict(__import__("os").environ))
    )
print(child.pid, flush=True)
threading.Event().wait()
"""

# The child: holds the lifeline, says so, then sleeps (``stubborn``: ignoring SIGTERM).
CHILD = """
import signal, sys, threading
from vigie.base.clock import RealClock
from vigie.base.lifeline import hold
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
assert hold(RealClock())
print("held", "VIGIE_LIFELINE" in __import__("os").environ, flush=True)
threading.Event().wait()
"""


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    }


@pytest.fixture
def family() -> Iterator[list[int]]:
    """Pids the test started; whatever still runs is killed afterwards."""
    started: list[int] = []
    yield started
    for pid in started:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_family(kind: str, started: list[int]) -> tuple[subprocess.Popen[bytes], int]:
    """Start the parent; once its child holds the lifeline (``python`` and
    ``stubborn``), the pids of both."""
    code = f"CHILD = {CHILD!r}\n" + PARENT
    parent = subprocess.Popen(
        [sys.executable, "-c", code, kind], env=_env(), stdout=subprocess.PIPE
    )
    started.append(parent.pid)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    started.append(child_pid)
    if kind != "external":  # the child writes to the same pipe
        # hold() took the variable out: the child's own children do not inherit it.
        assert parent.stdout.readline() == b"held False\n"
    return parent, child_pid


@pytest.mark.parametrize("kind", ["python", "stubborn", "external"])
def test_child_dies_within_2_s_of_its_parent_sigkill(kind: str, family: list[int]) -> None:
    parent, child_pid = start_family(kind, family)
    parent.kill()
    parent.wait()
    child = Proc(child_pid, kind)
    assert wait_gone([child], 2.0) == [], f"{kind} child still running 2 s after its parent"


def test_child_of_a_parent_already_gone_exits_at_once() -> None:
    """The pid it was given is not its parent's (re-parented before it started)."""
    code = textwrap.dedent("""
        import os, sys, threading
        from vigie.base.clock import RealClock
        from vigie.base.lifeline import hold
        r, _w = os.pipe()
        hold(RealClock(), {"VIGIE_LIFELINE": f"{r}:{os.getppid() + 100000}"})
        threading.Event().wait(30)
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=20
    )
    assert done.returncode == EXIT_ORPHANED, done.stderr
    assert "is gone" in done.stderr


def test_hold_without_a_lifeline_does_nothing() -> None:
    from vigie.base.clock import RealClock
    from vigie.base.lifeline import hold

    assert hold(RealClock(), {}) is False
