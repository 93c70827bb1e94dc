"""The playback page's timeline bar in a real headless Chromium.

Two recorded spans with a 6 min gap between them are written as the recorder
writes them (into the served recordings directory, indexed by the server's own
indexer). The bar must draw the spans and the gap where they belong; a click in
a span seeks there (frames decode, the clock shows the clicked instant); a click
in the gap jumps to the next span and says so in French; the keyboard does the
same from the focused bar."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.integration.browser.pages import CHROMIUM, CHROMIUM_ARGS, LoginPage, new_page
from tests.integration.stack import running_stack
from tests.unit.recording.helpers import record

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FRAMES_JS = "() => document.getElementById('pb-video').getVideoPlaybackQuality().totalVideoFrames"
SRC_JS = "() => document.getElementById('pb-video').src"
PARIS = ZoneInfo("Europe/Paris")
SPAN_S = 120
GAP_S = 360
CAMERA = "Quai de la Deûle"


def clock_instant(page: Page) -> datetime:
    """The page's clock ("27/11/2026 03:12:45 (×1)", Paris wall time) as UTC."""
    text = (page.locator("#pb-clock").text_content() or "").split(" (")[0]
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=PARIS).astimezone(UTC)


def wait_new_frames(page: Page, before: str, count: int = 5) -> None:
    """A seek starts a new MediaSource (a new blob URL): ``count`` frames decoded from it."""
    page.wait_for_function(
        f"() => ({SRC_JS})() != {before!r} && ({FRAMES_JS})() >= {count}", timeout=15_000
    )


def test_timeline_bar_draws_spans_and_gaps_and_seeks(tmp_path: Path) -> None:
    t0 = datetime.fromtimestamp(int(time.time()) - 50 * 60, UTC)
    a = (t0, t0 + timedelta(seconds=SPAN_S))
    b_start = a[1] + timedelta(seconds=GAP_S)
    b = (b_start, b_start + timedelta(seconds=SPAN_S))
    with (
        running_stack(tmp_path, [], extra=[(CAMERA, "59350", "rtsp://127.0.0.1:9/none")]) as stack,
        closing(stack.client()) as client,
    ):
        cam_id = stack.cameras(client)[CAMERA]["id"]
        # Written aside, then moved in whole: the indexer never sees a half-written file.
        staging = tmp_path / "staging"
        for start in (a[0], b[0]):
            record(staging, cam_id, start, SPAN_S, roll_s=SPAN_S + 10)
        cam_dir = tmp_path / "vigie" / "recordings" / str(cam_id)
        cam_dir.mkdir(parents=True, exist_ok=True)
        for f in sorted((staging / str(cam_id)).iterdir()):
            os.replace(f, cam_dir / f.name)
        shutil.rmtree(staging)
        q = f"start={quote((t0 - timedelta(hours=1)).isoformat())}&end={quote(b[1].isoformat())}"
        deadline = time.monotonic() + 20
        while True:
            tl = client.get(f"/api/cameras/{cam_id}/recordings/timeline?{q}").json()
            if len(tl["spans"]) == 2:
                break
            assert time.monotonic() < deadline, tl
            time.sleep(0.3)
        spans = [
            (datetime.fromisoformat(s["start_utc"]), datetime.fromisoformat(s["end_utc"]))
            for s in tl["spans"]
        ]
        assert abs((spans[0][1] - a[1]).total_seconds()) < 0.1, spans
        opened = t0 + timedelta(seconds=30)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(
                locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 1000}
            )
            ctx.set_default_timeout(15_000)
            page, errors = new_page(ctx)
            LoginPage(page, stack.base_url).open().log_in("operateur", "vigie-demo-operateur")
            page.goto(f"{stack.base_url}/playback?camera={cam_id}&at={quote(opened.isoformat())}")
            page.wait_for_function(
                "() => document.querySelectorAll('#pb-camera option').length > 0"
            )
            page.locator("#pb-reason").fill("Vérification d'un signalement")
            page.locator("#pb-form button[type=submit]").click()
            page.wait_for_function(f"() => ({FRAMES_JS})() >= 10")
            bar = page.locator("#tl-bar")
            # Default window: the 24 h around the opened instant.
            start_ms = int(bar.get_attribute("data-start-ms") or 0)
            end_ms = int(bar.get_attribute("data-end-ms") or 0)
            opened_ms = int(opened.timestamp() * 1000)
            assert (start_ms, end_ms) == (opened_ms - 12 * 3600_000, opened_ms + 12 * 3600_000)
            assert page.locator("[data-window-h='24']").get_attribute("aria-pressed") == "true"
            # Zoom to 1 h around the instant played: two spans, the gap between them.
            page.locator("[data-window-h='1']").click()
            page.wait_for_function(
                "() => document.querySelectorAll('#tl-track .tl-span').length == 2"
            )
            start_ms = int(bar.get_attribute("data-start-ms") or 0)
            end_ms = int(bar.get_attribute("data-end-ms") or 0)
            assert end_ms - start_ms == 3600_000 and start_ms < opened_ms < end_ms
            track = page.locator("#tl-track").bounding_box()
            assert track is not None and track["width"] > 500

            def x_of(at: datetime) -> float:
                f = (at.timestamp() * 1000 - start_ms) / (end_ms - start_ms)
                return track["x"] + f * track["width"]

            def box(sel: str) -> dict[str, float]:
                # The bar is drawn again when its spans arrive (and every 30 s): an
                # element may be replaced between finding it and measuring it.
                deadline = time.monotonic() + 5
                while (bb := page.locator(sel).bounding_box()) is None:
                    assert time.monotonic() < deadline, sel
                    time.sleep(0.05)
                return bb

            for i, (s, e) in enumerate((a, b)):
                bb = box(f"#tl-track .tl-span >> nth={i}")
                assert abs(bb["x"] - x_of(s)) <= 2, (i, bb, x_of(s))
                assert abs(bb["x"] + bb["width"] - x_of(e)) <= 2, (i, bb, x_of(e))
            # The gap that starts where the first span ends (to the millisecond: the API
            # gives microseconds, the page and float arithmetic round differently).
            want_ms = spans[0][1].timestamp() * 1000
            starts = page.eval_on_selector_all(
                "#tl-track .tl-gap", "els => els.map(e => Number(e.dataset.startMs))"
            )
            assert starts, "no gap drawn"
            k = min(range(len(starts)), key=lambda j: abs(starts[j] - want_ms))
            assert abs(starts[k] - want_ms) <= 2, (starts, want_ms)
            gap_sel = f"#tl-track .tl-gap >> nth={k}"
            gb = box(gap_sel)
            assert abs(gb["x"] - x_of(a[1])) <= 2 and abs(gb["x"] + gb["width"] - x_of(b[0])) <= 2
            title = page.locator(gap_sel).get_attribute("title") or ""
            assert title.startswith("Lacune de 6 min 0 s"), title
            # Hour ticks (every 10 min in 1 h), labelled in Paris time.
            first_tick = -(-start_ms // 600_000) * 600_000
            label = datetime.fromtimestamp(first_tick / 1000, PARIS).strftime("%H:%M")
            assert page.locator("#tl-ticks .tl-tick span").first.text_content() == label

            # A click in the second span: playback from there.
            cy = track["y"] + track["height"] / 2
            x = round(x_of(b[0] + timedelta(seconds=70)))
            clicked = start_ms + (x - track["x"]) / track["width"] * (end_ms - start_ms)
            assert b[0].timestamp() * 1000 + 10_000 < clicked < b[1].timestamp() * 1000 - 10_000
            before = page.evaluate(SRC_JS)
            page.mouse.click(x, cy)
            wait_new_frames(page, before)
            shown = clock_instant(page).timestamp() * 1000
            assert abs(shown - clicked) <= 2_000, (shown, clicked)
            assert "Lecture à partir du" in (page.locator("#pb-message").text_content() or "")
            cursor = box("#tl-cursor")
            assert abs(cursor["x"] + cursor["width"] / 2 - x) <= 3

            # A click in the gap: to the start of the next span, said in French.
            track = page.locator("#tl-track").bounding_box()  # (the message above may wrap)
            assert track is not None
            cy = track["y"] + track["height"] / 2
            x = round((x_of(a[1]) + x_of(b[0])) / 2)
            before = page.evaluate(SRC_JS)
            page.mouse.click(x, cy)
            wait_new_frames(page, before)
            message = page.locator("#pb-message").text_content() or ""
            assert "lacune" in message and "début de l'enregistrement suivant" in message, message
            assert b[0].astimezone(PARIS).strftime("%H:%M:%S") in message, message
            shown = clock_instant(page).timestamp() * 1000
            assert abs(shown - b[0].timestamp() * 1000) <= 2_000, (shown, b[0])

            # Keyboard: from the bar's focus, Home (in the gap before the first span),
            # then arrows up to the first span, Enter plays from there.
            bar.focus()
            page.keyboard.press("Home")
            assert "lacune" in (bar.get_attribute("aria-valuetext") or "")
            for _ in range(60):
                if "enregistré" in (bar.get_attribute("aria-valuetext") or ""):
                    break
                page.keyboard.press("ArrowRight")
            picked = int(bar.get_attribute("aria-valuenow") or 0)
            assert a[0].timestamp() * 1000 <= picked < a[1].timestamp() * 1000, picked
            before = page.evaluate(SRC_JS)
            page.keyboard.press("Enter")
            wait_new_frames(page, before)
            shown = clock_instant(page).timestamp() * 1000
            assert abs(shown - picked) <= 2_000, (shown, picked)
            # The list stays as the accessible alternative, over the same window.
            assert page.locator("#pb-timeline li.recorded").count() == 2
            assert page.locator("#pb-timeline li.gap").count() == 3
            errors.assert_clean()
            browser.close()
