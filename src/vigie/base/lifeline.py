"""Child processes die with the process that started them, however it dies.

Two mechanisms, both Linux, both armed for every ``vigie`` process a supervisor
starts (``docs/design/operations.md``, "Processes die with their parent"):

- **A lifeline pipe.** The parent (``Lifeline``) holds the write end of one
  pipe for as long as the parent *process* lives; it is never written to and
  is not inheritable (``O_CLOEXEC``), so only the parent holds it. Each child
  gets the read end (``pass_fds``) and ``VIGIE_LIFELINE=<fd>:<parent pid>``.
  A thread of the child blocks on that read end: end of file means the parent
  is gone (the kernel closes a dead process's descriptors, SIGKILL included).
- **``PR_SET_PDEATHSIG``** (``prctl``): the kernel sends the child SIGTERM when
  the parent dies, with no help from the child's threads. Caveat: "parent"
  means the parent *thread* that forked; supervisors therefore start every
  child from one thread that lives as long as they do.

At its start the child (``hold()``) arms both and then compares
``os.getppid()`` with the pid it was given: a parent already gone (the child
was re-parented before it could arm anything) is noticed at once.

After the parent is gone the child has ``GRACE_S`` to finish cleanly (SIGTERM:
the media process closes its recordings), then the lifeline thread ends it
with ``os._exit``: within 2 s whatever it was doing.

External programs (``ffmpeg``, ``pg_dump``) cannot run ``hold()``: they are
started with ``preexec_fn=die_with_parent()`` (``PR_SET_PDEATHSIG`` to SIGKILL,
set between ``fork`` and ``exec``). They are started with ``subprocess.run``,
which blocks the starting thread until they exit, so the thread caveat does
not bite.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

ENV = "VIGIE_LIFELINE"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE_S = 1.5  # from the parent's death to the hard exit of the child
EXIT_ORPHANED = 70  # exit status of a child whose parent was gone


class _Sleeper(Protocol):
    def sleep(self, seconds: float) -> None: ...


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fn = libc.prctl
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    prctl: Callable[..., int] = fn
    return prctl


# Loaded once, in the parent: ``die_with_parent`` runs between fork and exec,
# where nothing should be imported or looked up.
_PRCTL = _load_prctl()


def set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies.
    False where that is not available (not Linux, or refused)."""
    if _PRCTL is None:
        return False
    return _PRCTL(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for an external program started by this process: SIGKILL
    when this process dies; if it died before the child could arm that, die now."""
    parent = os.getpid()

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class Lifeline:
    """The parent's end: one pipe for all the children of this process."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()  # both non-inheritable (PEP 446)

    def popen_kwargs(self, env: dict[str, str]) -> dict[str, Any]:
        """Keyword arguments for ``subprocess.Popen`` of a ``vigie`` child."""
        return {
            "env": {**env, ENV: f"{self._read_fd}:{os.getpid()}"},
            "pass_fds": (self._read_fd,),
        }

    def close(self) -> None:
        """Cut the lifeline now (the children then end within ``GRACE_S``)."""
        for fd in (self._write_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read_fd = self._write_fd = -1


def hold(clock: _Sleeper, environ: dict[str, str] | None = None) -> bool:
    """In a child started with ``Lifeline.popen_kwargs``: arm the parent-death
    signal and the lifeline thread; exit at once if the parent is already gone.
    False (and nothing done) in a process not started so."""
    env = os.environ if environ is None else environ
    value = env.pop(ENV, None)  # our own children must not inherit it
    if value is None:
        return False
    fd_text, _, pid_text = value.partition(":")
    fd, parent = int(fd_text), int(pid_text)
    os.set_inheritable(fd, False)
    armed = set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        print(f"vigie: parent process {parent} is gone; exiting", file=sys.stderr, flush=True)
        os._exit(EXIT_ORPHANED)
    threading.Thread(target=_watch, args=(fd, armed, clock), name="lifeline", daemon=True).start()
    return True


def _watch(fd: int, signalled_by_kernel: bool, clock: _Sleeper) -> None:
    while True:
        try:
            if not os.read(fd, 64):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    if not signalled_by_kernel:
        os.kill(os.getpid(), signal.SIGTERM)
    clock.sleep(GRACE_S)
    print("vigie: parent process gone; exiting", file=sys.stderr, flush=True)
    os._exit(EXIT_ORPHANED)


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (``raise_on_sigterm``), so that every
    ``finally`` on the way up runs (stopping children); the entry point then
    dies by the signal (``die_by``), as whoever sent it expects."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises ``Terminated`` in the main thread. (uvicorn
    handles SIGTERM itself while it runs, then raises it again with the handler
    it found: this one.)"""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def die_by(signum: int) -> None:
    """End this process by ``signum`` with its default action."""
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
