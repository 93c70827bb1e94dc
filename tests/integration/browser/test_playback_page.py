"""The playback page in a real headless Chromium: simulator → ``vigie serve``
records → the page asks a playback ticket (with a reason) → the media process
streams the recording → MSE decodes frames after a seek."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from tests.integration.browser.pages import CHROMIUM, CHROMIUM_ARGS, LoginPage, new_page
from tests.integration.stack import OPERATOR, running_stack, small_camera
from vigie.recording.models import RecordingSegment
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.models import AuditEntry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

FRAMES_JS = "() => { const v = document.getElementById('pb-video'); return v.getVideoPlaybackQuality().totalVideoFrames; }"


def test_frames_decode_after_a_seek(tmp_path: Path) -> None:
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
        segs = stack.recorded(cam_id, 8)
        seek_to = datetime.fromtimestamp(segs[0].start_utc.timestamp() + 3.5, UTC)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
            ctx.set_default_timeout(15_000)
            page, errors = new_page(ctx)
            LoginPage(page, stack.base_url).open().log_in(*OPERATOR)
            # What an alarm links to: this camera at that instant (UTC in the URL)
            at = quote(seek_to.isoformat())
            page.goto(f"{stack.base_url}/playback?camera={cam_id}&at={at}")
            page.wait_for_function(
                "() => document.querySelectorAll('#pb-camera option').length > 0"
            )
            assert page.locator("#pb-camera").input_value() == str(cam_id)
            # datetime-local shows the browser's local (Paris) wall time
            paris = seek_to.astimezone(ZoneInfo("Europe/Paris"))
            assert page.locator("#pb-start").input_value() == paris.strftime("%Y-%m-%dT%H:%M:%S")
            page.locator("#pb-reason").fill("Vérification d'un signalement")
            page.locator("#pb-form button[type=submit]").click()
            page.wait_for_function(f"() => ({FRAMES_JS})() >= 25", timeout=15_000)
            clock = page.locator("#pb-clock").text_content() or ""
            assert clock, "position shown"
            # The timeline lists what is recorded; a click seeks there and decoding goes on.
            page.locator("#pb-timeline li.recorded").first.click()
            before = page.evaluate(FRAMES_JS)
            # a new MediaSource restarts the counter: 20 more frames either way
            page.wait_for_function(
                f"() => ({FRAMES_JS})() >= 20 && ({FRAMES_JS})() != {before}", timeout=15_000
            )
            errors.assert_clean()
            browser.close()
        with session_scope(factory) as db:
            entry = db.scalars(
                select(AuditEntry).where(AuditEntry.action == "playback_start")
            ).one()
            assert entry.reason == "Vérification d'un signalement"
        engine.dispose()


def test_h265_recording_is_explained_or_played(tmp_path: Path) -> None:
    """H.265 footage: where the browser cannot decode it (MediaSource says so), the
    page says it clearly and points to the export; where it can, it plays."""
    name = "Halle H265"
    with (
        running_stack(tmp_path, [small_camera(1, name, codec="hevc")]) as stack,
        closing(stack.client()) as client,
    ):
        stack.wait_for(client, lambda c: c[name]["status"]["main"]["state"] == "online", 30, "on")
        cam_id = stack.cameras(client)[name]["id"]
        engine = make_engine(f"sqlite:///{tmp_path / 'vigie' / 'vigie.db'}")
        factory = make_sessionmaker(engine)
        deadline = time.monotonic() + 40
        while True:
            with session_scope(factory) as db:
                seg = db.scalars(
                    select(RecordingSegment).where(RecordingSegment.camera_id == cam_id)
                ).first()
            if seg is not None and seg.frames >= 50:
                break
            assert time.monotonic() < deadline, "recording not indexed"
            time.sleep(0.5)
        engine.dispose()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
            ctx.set_default_timeout(15_000)
            page, errors = new_page(ctx)
            LoginPage(page, stack.base_url).open().log_in(*OPERATOR)
            at = quote(seg.start_utc.replace(tzinfo=UTC).isoformat())
            page.goto(f"{stack.base_url}/playback?camera={cam_id}&at={at}")
            page.wait_for_function(
                "() => document.querySelectorAll('#pb-camera option').length > 0"
            )
            page.locator("#pb-reason").fill("Vérification d'un signalement")
            page.locator("#pb-form button[type=submit]").click()
            page.wait_for_function(
                f"() => document.getElementById('pb-video').dataset.unsupported === 'hevc'"
                f" || ({FRAMES_JS})() >= 25",
                timeout=15_000,
            )
            if page.evaluate(
                "() => MediaSource.isTypeSupported('video/mp4; codecs=\"hvc1.1.6.L93.B0\"')"
            ):
                assert page.evaluate(FRAMES_JS) >= 25
            else:
                message = page.locator("#pb-message")
                text = message.text_content() or ""
                assert "H.265" in text and "ce navigateur" in text and "export" in text, text
                assert "error" in (message.get_attribute("class") or "")
                assert page.evaluate(FRAMES_JS) == 0
            errors.assert_clean()
            browser.close()
