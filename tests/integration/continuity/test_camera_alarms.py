"""End to end: simulator + ``vigie serve``. A killed camera raises an alarm
within 10 s, the alarm clears within 10 s of its return, and a camera that
drops every few seconds is one alarm, not a flapping series."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.stack import OPERATOR, SIM_CACHE, running_stack, small_camera
from vigie.base.settings import Settings
from vigie.continuity.checks import ChecksRunner
from vigie.continuity.models import CheckSettings
from vigie.domain.alarms import Delays, Hysteresis
from vigie.domain.tickets import internal_api_token
from vigie.sim.runner import SimServer
from vigie.storage.db import make_engine, make_sessionmaker, session_scope


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
            yield {"client": client, "cams": cams, "lone": lone, "flaky": flaky, "st": st}
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
    assert alarm["link"].startswith(f"/playback?camera={cams['Isolée']}&at=")
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


def test_image_checks_process_against_live_media(stack: dict[str, Any]) -> None:
    """The checks runner fetches real keyframes from the media process: the
    first becomes the reference; a wrong reference reads as "moved" and
    raises an alarm; a requested refresh accepts the scene and clears it."""
    st, client, cams = stack["st"], stack["client"], stack["cams"]
    env = st.env
    settings = Settings(
        data_dir=Path(env["VIGIE_DATA_DIR"]),
        secret_key=env["VIGIE_SECRET_KEY"],
        media_base_port=int(env["VIGIE_MEDIA_BASE_PORT"]),
        media_internal_base_port=int(env["VIGIE_MEDIA_INTERNAL_BASE_PORT"]),
    )
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    runner = ChecksRunner(settings, sessions, engine=Hysteresis(Delays(0.0, 0.0)))
    beffroi = cams["Beffroi"]
    headers = {"Authorization": f"Bearer {internal_api_token(settings.secret_key)}"}
    with httpx.Client(timeout=5, headers=headers) as http:
        t0 = time.monotonic()
        assert runner.round(http, t0) == []
        state = runner.cameras[beffroi]
        assert state.checker.reference is not None
        assert (settings.data_dir / "checks" / f"{beffroi}.npy").exists()
        # A reference from elsewhere: the scene no longer matches.
        shape = np.load(settings.data_dir / "checks" / f"{beffroi}.npy").shape
        y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
        wrong = ((np.sin(x / 5.0) * np.cos(y / 7.0) + 1.0) * 100).astype(np.float32)
        state.checker.set_reference(wrong)
        state.last_dts = None
        found = runner.round(http, t0 + 2)
        assert any(c.kind == "moved" and c.subject == str(beffroi) for c in found), found
        rows = client.get("/api/continuity/alarms").json()
        assert any(r["camera_id"] == beffroi and r["kind"] == "moved" for r in rows)
        with session_scope(sessions) as db:
            db.add(CheckSettings(camera_id=beffroi, reference_requested_at=datetime.now(UTC)))
        runner._loaded_s = -1e9
        state.last_dts = None
        assert runner.round(http, t0 + 4) == []
        rows = client.get("/api/continuity/alarms").json()
        assert not any(r["camera_id"] == beffroi and r["kind"] == "moved" for r in rows)
        # A reference of another size (the stream's resolution changed, or it
        # was saved by a version with another check picture) is replaced by
        # the next keyframe, not compared.
        y, x = np.mgrid[0 : shape[0] + 8, 0 : shape[1] + 8]
        state.checker.set_reference(((np.sin(x / 5.0) + 1.0) * 100).astype(np.float32))
        state.last_dts = None
        assert runner.round(http, t0 + 6) == []
        assert state.checker.reference is not None
        assert state.checker.reference.shape == shape
        assert np.load(settings.data_dir / "checks" / f"{beffroi}.npy").shape == shape
    engine.dispose()
