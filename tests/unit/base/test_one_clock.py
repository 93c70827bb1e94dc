"""Every reading of time in ``src/vigie`` goes through the ``Clock``
(``vigie.base.clock``), handed down: a direct call to the system's clocks
anywhere else fails the suite."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[3] / "src" / "vigie"

# Dotted suffixes that read (or wait on) the system's time.
BANNED = {
    "datetime.now", "datetime.utcnow", "datetime.today", "date.today",
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
    "time.sleep", "time.perf_counter", "time.perf_counter_ns", "loop.time",
    "get_running_loop().time", "get_event_loop().time",
}  # fmt: skip
BANNED_FROM_TIME = {"time", "time_ns", "monotonic", "monotonic_ns", "sleep", "perf_counter"}

ALLOWED = {
    # The clock itself.
    "base/clock.py",
    # The simulated camera's GStreamer server runs in the system interpreter with
    # the standard library only (no vigie import): it is the camera's own clock,
    # aligned on wall time as a real camera's is.
    "sim/gst_server.py",
}


def dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(dotted(node.func) + "()")
    return ".".join(reversed(parts))


def violations(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = dotted(node)
            if any(name == b or name.endswith("." + b) for b in BANNED):
                found.append((node.lineno, name))
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [(node.lineno, f"from time import {a.name}") for a in node.names
                      if a.name in BANNED_FROM_TIME]  # fmt: skip
    return found


def test_no_direct_reading_of_time_outside_the_clock() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in ALLOWED:
            continue
        for line, name in violations(ast.parse(path.read_text(), str(path))):
            problems.append(f"src/vigie/{rel}:{line}: {name}")
    assert not problems, (
        "read time through the Clock handed down (vigie.base.clock), not directly:\n"
        + "\n".join(problems)
    )


def test_the_check_sees_each_form() -> None:
    code = """
import time, datetime as dtm
from datetime import date, datetime
from time import monotonic
a = datetime.now(UTC); b = date.today(); c = time.time(); d = dtm.datetime.utcnow()
e = time.monotonic; f = asyncio.get_running_loop().time(); time.sleep(1)
"""
    names = {n for _, n in violations(ast.parse(code))}
    assert names == {
        "from time import monotonic", "datetime.now", "date.today", "time.time",
        "dtm.datetime.utcnow", "time.monotonic", "time.sleep",
        "asyncio.get_running_loop().time",
    }  # fmt: skip
    assert not violations(ast.parse("await asyncio.sleep(1)\nclock.now()\nx.monotonic()"))
