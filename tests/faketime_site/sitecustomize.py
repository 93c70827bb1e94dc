"""``time.sleep`` for runs under libfaketime (``make test`` runs the unit tests so).

Debian's libfaketime 0.9.10 with ``FAKETIME_DONT_FAKE_MONOTONIC`` turns
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``, which Python 3.11's
``time.sleep`` calls, into EINVAL (libfaketime issue #426); ``select`` with a
relative timeout is left alone. ``tests/faketime_shim.py`` applies this to the test
process and, through ``PYTHONPATH``, to every Python process a test starts (as
``sitecustomize``). Outside libfaketime it changes nothing; Vigie itself is never
patched outside the tests.
"""

from __future__ import annotations

import os
import select
import time


def sleep_by_select(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


if "faketime" in os.environ.get("LD_PRELOAD", ""):
    time.sleep = sleep_by_select
