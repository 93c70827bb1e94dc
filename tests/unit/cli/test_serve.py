"""``vigie serve`` refuses ports already taken, naming the process that holds
them, before it starts anything (issue #12 item 3)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.stack import free_port
from vigie.base.clock import SimulatedClock
from vigie.base.errors import FailedPrecondition
from vigie.base.ports import can_listen, port_holders
from vigie.base.settings import Settings
from vigie.cli.serve import RESTART_STABLE_S, MediaSupervisor

SRC = str(Path(__file__).parents[3] / "src")
SECRET = "serve-test-secret-" + "s" * 30
# A process holding a port (a Vigie left over from an earlier start, say).
HOLDER = (
    "import socket, sys, threading; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
    "print(s.getsockname()[1], flush=True); threading.Event().wait(120)  # port-holder"
)


@pytest.fixture
def holder() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline()), proc
    finally:
        proc.kill()
        proc.wait()


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])), "VIGIE_SECRET_KEY": SECRET,
        "VIGIE_DATA_DIR": str(tmp_path / "data"), "VIGIE_PORT": str(free_port()),
        "VIGIE_MEDIA_BASE_PORT": str(free_port()), **env,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli.main", "serve"],
        env=full, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "what"), [("VIGIE_PORT", "serveur web"), ("VIGIE_MEDIA_BASE_PORT", "média 0")]
)
def test_serve_names_the_process_holding_its_port_and_starts_nothing(
    tmp_path: Path, holder: tuple[int, subprocess.Popen[bytes]], variable: str, what: str
) -> None:
    port, proc = holder
    done = serve(tmp_path, **{variable: str(port)})
    assert done.returncode != 0
    err = done.stderr
    assert f"Le port {port} (" in err and what in err and variable in err, err
    assert f"processus {proc.pid} :" in err and "port-holder" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "data").exists()  # not even the data directory: nothing started


def test_serve_refuses_one_port_for_two_listeners(tmp_path: Path) -> None:
    port = str(free_port())
    done = serve(tmp_path, VIGIE_PORT=port, VIGIE_MEDIA_BASE_PORT=port)
    assert done.returncode != 0
    assert f"Le port {port} est demandé deux fois" in done.stderr, done.stderr


def test_port_holders_finds_a_listening_socket_of_this_process() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not can_listen("127.0.0.1", port)
        holders = port_holders(port)
        assert [h.pid for h in holders] == [os.getpid()]
        assert "pytest" in holders[0].cmdline or "python" in holders[0].cmdline
    assert can_listen("127.0.0.1", port)
    assert port_holders(port) == []


def test_one_port_on_two_addresses_is_not_a_clash(tmp_path: Path) -> None:
    from vigie.base.settings import Settings
    from vigie.cli.serve import check_ports

    port = free_port()
    base = {"secret_key": SECRET, "data_dir": tmp_path}
    check_ports(Settings(port=port, media_base_port=port, media_host="127.0.0.2", **base))
    with pytest.raises(FailedPrecondition, match="demandé deux fois"):
        check_ports(Settings(port=port, media_base_port=port, media_host="0.0.0.0", **base))


class DyingYoung(MediaSupervisor):
    """Children that exit at once, as a media process whose port is taken would."""

    spawned = 0

    def command(self, index: int) -> list[str]:
        return [sys.executable, "-c", "raise SystemExit(3)"]

    def _spawn(self, index: int) -> None:
        super()._spawn(index)
        self.spawned += 1


def test_a_child_that_keeps_dying_is_restarted_with_a_growing_delay(tmp_path: Path) -> None:
    clock = SimulatedClock(datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
    settings = Settings(data_dir=tmp_path, secret_key=SECRET, media_processes=1, image_checks=False)
    sup = DyingYoung(settings, clock=clock)

    def look() -> int:
        """Let the child exit, then one look of the supervisor: how many starts so far."""
        sup.procs[0].wait(10)
        sup.check()
        return sup.spawned

    try:
        sup._spawn(0)
        assert look() == 2  # the first death: restarted at once
        for delay in (1, 2, 4, 8, 16, 32, 60, 60):
            before = sup.spawned
            assert look() == before  # its death seen: the delay starts
            clock.advance(delay - 0.5)
            assert look() == before, f"restarted before {delay} s"
            clock.advance(0.5)
            assert look() == before + 1, f"not restarted after {delay} s"
        # It ran long enough before dying this time: restarted at once, delays anew.
        clock.advance(RESTART_STABLE_S)
        before = sup.spawned
        assert look() == before + 1
        assert look() == before + 1  # died young again: 1 s
        clock.advance(1)
        assert look() == before + 2
    finally:
        sup.stop()
