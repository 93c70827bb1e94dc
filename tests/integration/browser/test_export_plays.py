"""An export plays in a real headless Chromium: a plain ``<video src>`` (progressive
MP4, not MSE) reads its duration, with the gap kept, and decodes its frames."""

from __future__ import annotations

import functools
import http.server
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.integration.browser.pages import CHROMIUM, CHROMIUM_ARGS
from tests.unit.recording.helpers import record
from vigie.recording import mp4writer as mp4
from vigie.recording.index import utc_to_ms

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
PAGE = """<!doctype html><video id="v" src="video.mp4" muted playsinline></video>"""


def test_export_plays_in_chromium(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    record(root, 1, T0, 4)
    record(root, 1, T0 + timedelta(seconds=8), 3)  # a 4 s gap
    paths = sorted((root / "1").iterdir())
    sel = mp4.select(
        [mp4.read_segment(p, int(p.stem)) for p in paths],
        utc_to_ms(T0),
        utc_to_ms(T0 + timedelta(seconds=11)),
    )
    assert sel is not None
    site = tmp_path / "site"
    site.mkdir()
    try:
        mp4.write_mp4(site / "video.mp4", sel, subtitle=str, tags=mp4.Tags("Vigie — test", "test"))
    finally:
        sel.close()
    (site / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            page.wait_for_function("() => document.getElementById('v').readyState >= 1")
            duration = page.evaluate("() => document.getElementById('v').duration")
            assert abs(duration - 11.0) <= 0.05
            assert page.evaluate("() => document.getElementById('v').error") is None
            page.evaluate(
                "() => { const v = document.getElementById('v'); v.playbackRate = 4; v.play(); }"
            )
            page.wait_for_function(
                "() => document.getElementById('v').getVideoPlaybackQuality().totalVideoFrames >= 50"
            )
            browser.close()
    finally:
        server.shutdown()
