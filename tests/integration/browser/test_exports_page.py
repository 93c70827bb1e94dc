"""Exports from the requisitions page in a real headless Chromium: a supervisor
exports a recorded range for an officer, then downloads the video and its
signed manifest; both downloads are in the audit log."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from tests.integration.browser.pages import CHROMIUM, CHROMIUM_ARGS, LoginPage, new_page
from tests.integration.stack import running_stack, small_camera
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.models import AuditEntry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

SUPERVISOR = ("superviseur", "vigie-demo-superviseur")
PARIS = ZoneInfo("Europe/Paris")


def test_export_and_download_from_the_page(tmp_path: Path) -> None:
    with (
        running_stack(tmp_path, [small_camera(1, "Beffroi")]) as stack,
        closing(stack.client()) as client,
    ):
        stack.wait_for(
            client, lambda c: c["Beffroi"]["status"]["main"]["state"] == "online", 30, "online"
        )
        cam_id = stack.cameras(client)["Beffroi"]["id"]
        engine = make_engine(f"sqlite:///{tmp_path / 'vigie' / 'vigie.db'}")
        factory = make_sessionmaker(engine)
        segs = stack.recorded(cam_id, 6)
        start = (segs[0].start_utc + timedelta(seconds=1)).astimezone(PARIS)
        end = start + timedelta(seconds=4)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
            ctx.set_default_timeout(20_000)
            page, errors = new_page(ctx)
            LoginPage(page, stack.base_url).open().log_in(*SUPERVISOR)
            page.goto(f"{stack.base_url}/requisitions")
            page.wait_for_function(
                "() => document.querySelectorAll('#ex-camera option').length > 0"
            )
            form = page.locator("#ex-form")
            form.locator("#ex-camera").select_option(str(cam_id))
            form.locator("input[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M:%S"))
            form.locator("input[name=end]").fill(end.strftime("%Y-%m-%dT%H:%M:%S"))
            form.locator("input[name=recipient]").fill("Lt Durand")
            form.locator("input[name=service]").fill("SLPJ de Lille")
            form.locator("input[name=reason]").fill("Réquisition 2026/981")
            form.locator("button[type=submit]").click()
            page.wait_for_function(
                "() => document.getElementById('ex-message').textContent.includes('prête')"
            )
            link = page.locator("#ex-list a", has_text="vidéo").first
            link.wait_for()
            href = link.get_attribute("href")
            assert href is not None
            got = page.evaluate(
                """async (h) => { const r = await fetch(h);
                const b = new Uint8Array(await r.arrayBuffer());
                return [r.status, r.headers.get('content-type'), b.length,
                        String.fromCharCode(...b.slice(4, 8))]; }""",
                href,
            )
            assert got[0] == 200 and got[1] == "video/mp4" and got[2] > 10_000, got
            assert got[3] == "ftyp"
            manifest = page.locator("#ex-list a", has_text="manifeste").first.get_attribute("href")
            doc = page.evaluate("async (h) => (await fetch(h)).json()", manifest)
            assert doc["manifest"]["recipient"] == {"name": "Lt Durand", "service": "SLPJ de Lille"}
            errors.assert_clean()
            browser.close()
        with session_scope(factory) as db:
            actions = [
                (a.action, a.actor)
                for a in db.scalars(
                    select(AuditEntry).where(AuditEntry.action.in_(("export", "export_download")))
                )
            ]
        assert actions == [
            ("export", "superviseur"),
            ("export_download", "superviseur"),
            ("export_download", "superviseur"),
        ]
        engine.dispose()
