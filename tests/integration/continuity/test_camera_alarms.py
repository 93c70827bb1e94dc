"""End to end: simulator + ``vigie serve``. A killed camera raises an alarm
within 10 s, the alarm clears within 10 s of its return, and a camera that
drops every few seconds is one alarm, not a flapping series."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.stack import OPERATOR, SIM_CACHE, running_stack, small_camera
from vigie.sim.runner import SimServer


def alarms_of(client: httpx.Client, name: str, cams: dict[str, int]) -> list[dict[str, Any]]:
    rows = client.get("/api/continuity/alarms", params={"open_only": False}).json()
    return [r for r in rows if r["camera_id"] == cams[name] and r["kind"] == "offline"]


def wait(predicate: Any, timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("alarms")
    lone = SimServer([small_camera(9, "Isolée")], cache_dir=SIM_CACHE)
    flaky = SimServer([small_camera(8, "Instable")], cache_dir=SIM_CACHE)
    lone.start()
    flaky.start()
    extra = [("Isolée", "59350", lone.url(9, "main")), ("Instable", "59512", flaky.url(8, "main"))]
    try:
        with running_stack(tmp, [small_camera(1, "Beffroi")], extra=extra) as st:
            client = st.client(OPERATOR)
            cams = {c["name"]: c["id"] for c in client.get("/api/cameras").json()}

            def online(n: str) -> bool:
                c = {c["name"]: c for c in client.get("/api/cameras").json()}[n]
                return bool(c["status"]["main"]["state"] == "online")

            wait(lambda: online("Isolée") and online("Instable"), 40, "cameras online")
            yield {"client": client, "cams": cams, "lone": lone, "flaky": flaky}
            client.close()
    finally:
        lone.close()
        flaky.close()


def test_killed_camera_alarm_and_clear(stack: dict[str, Any]) -> None:
    client, cams, lone = stack["client"], stack["cams"], stack["lone"]
    assert alarms_of(client, "Isolée", cams) == []
    lone.kill()
    took = wait(lambda: any(a["is_open"] for a in alarms_of(client, "Isolée", cams)), 10, "alarm")
    (alarm,) = alarms_of(client, "Isolée", cams)
    assert alarm["severity"] == "critical" and "Isolée" in alarm["message"]
    assert alarm["link"].startswith(f"/live?camera={cams['Isolée']}&at=")
    lone.restart()
    back = wait(lambda: not alarms_of(client, "Isolée", cams)[0]["is_open"], 10, "clear")
    assert len(alarms_of(client, "Isolée", cams)) == 1
    print(f"\nalarm raised {took:.1f} s after the kill, cleared {back:.1f} s after return")


def test_flapping_camera_is_one_alarm(stack: dict[str, Any]) -> None:
    client, cams, flaky = stack["client"], stack["cams"], stack["flaky"]
    # Drops every few seconds: 3 s down, 1.5 s up, for ~25 s.
    end = time.monotonic() + 25
    while time.monotonic() < end:
        flaky.kill()
        time.sleep(3.0)
        flaky.restart()
        time.sleep(1.5)
    rows = alarms_of(client, "Instable", cams)
    assert len(rows) == 1, rows
    assert rows[0]["is_open"]
    wait(lambda: not alarms_of(client, "Instable", cams)[0]["is_open"], 15, "clear once stable")
    assert len(alarms_of(client, "Instable", cams)) == 1
