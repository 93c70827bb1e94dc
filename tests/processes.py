"""Finding the processes a test (or the whole test session) started, even once
they were re-parented to init: by an environment variable they inherited.

``tests/conftest.py`` sets ``VIGIE_TEST_SESSION`` in its own environment at the
start of the session, so every process started from it carries the mark, and
fails the session if any such process is still running at its end
(``pytest_sessionfinish`` below, imported by ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

SESSION_ENV = "VIGIE_TEST_SESSION"


@dataclass(frozen=True)
class Proc:
    pid: int
    cmdline: str

    def __str__(self) -> str:
        return f"pid {self.pid}: {self.cmdline}"


def _cmdline(pid: int) -> str:
    with suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return " ".join(p.decode(errors="replace") for p in raw.rstrip(b"\0").split(b"\0"))
    return "?"


def _alive(pid: int) -> bool:
    """Running (a zombie is dead: it only waits for its parent to read its status)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def marked(key: str, value: str) -> list[Proc]:
    """Live processes whose environment has ``key`` set to ``value`` or to a
    comma-separated list holding it (this process excluded)."""
    prefix = f"{key}=".encode()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        values = [v[len(prefix) :] for v in env.split(b"\0") if v.startswith(prefix)]
        if any(value.encode() in v.split(b",") for v in values) and _alive(int(entry.name)):
            out.append(Proc(int(entry.name), _cmdline(int(entry.name))))
    return out


def descendants(pid: int | None = None) -> list[Proc]:
    """Live descendants of ``pid`` (default: this process)."""
    try:
        children = psutil.Process(pid or os.getpid()).children(recursive=True)
    except psutil.Error:
        return []
    return [Proc(c.pid, _cmdline(c.pid)) for c in children if _alive(c.pid)]


def alive(procs: list[Proc]) -> list[Proc]:
    return [p for p in procs if _alive(p.pid)]


def wait_gone(procs: list[Proc], timeout_s: float) -> list[Proc]:
    """Poll until none of ``procs`` runs; those still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    left = alive(procs)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left


def kill(procs: list[Proc]) -> None:
    for p in procs:
        with suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)


# --- the session-wide check ---------------------------------------------------------
LEFTOVER_GRACE_S = 5.0  # processes being stopped by the last teardown


_session_id = uuid.uuid4().hex  # this session's mark


def session_leftovers() -> list[Proc]:
    found = {p.pid: p for p in descendants()}
    found.update({p.pid: p for p in marked(SESSION_ENV, _session_id)})
    return sorted(found.values(), key=lambda p: p.pid)


def pytest_configure(config: pytest.Config) -> None:
    # A session started by a test adds its mark to the outer one's: the outer
    # session still recognises what the inner one left.
    outer = os.environ.get(SESSION_ENV)
    os.environ[SESSION_ENV] = f"{outer},{_session_id}" if outer else _session_id


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = wait_gone(session_leftovers(), LEFTOVER_GRACE_S)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"{len(left)} process(es) started by this test session still running at its end "
        f"(now killed):",
        *(f"  {p}" for p in left),
    ]
    if reporter is not None:
        reporter.write_sep("=", "leftover processes", red=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print("\n".join(lines))
    kill(left)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
