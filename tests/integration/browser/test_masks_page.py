"""Privacy masks (CSI L251-3) in a real headless Chromium.

The editor (``/masques``), against the real app on a loopback port with
cameras that are never connected to (no picture: the neutral frame): the
mayor of Lille draws a four-point zone with mouse clicks, labels it and saves
it with a reason; the API then holds the clicked coordinates and the audit
log the edit. Refused saves (no reason, a flat zone) show the API's French
message and change nothing. An operator sees the zones read-only.

The overlays, against the whole chain (simulator → ``vigie serve`` → MSE):
the operator's live tile and the playback page draw the camera's zones as
black SVG polygons exactly over the picture area of the ``<video>``, also
when the element's box no longer has the picture's proportions (letterbox).
The mayor's editor shows the camera's real picture (snapshot ticket).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.admin.pages_support import MAYOR, seeded_browser_site
from tests.integration.browser.pages import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROBE_JS,
    LivePage,
    LoginPage,
    PageErrors,
    new_page,
)
from tests.integration.stack import OPERATOR, running_stack, small_camera
from vigie.base.i18n import t
from vigie.storage.db import session_scope
from vigie.storage.models import AuditEntry, Camera

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]

SUPERVISOR = ("superviseur", "vigie-demo-superviseur")
CAMERAS: list[tuple[str, str, str, str | None]] = [
    ("Beffroi", "59350", "rtsp://127.0.0.1:9/beffroi", None),  # Lille: the mayor's
    ("Gare Roubaix", "59512", "rtsp://127.0.0.1:9/gare", None),
]
# Fractions of the picture clicked by the mayor, in order.
CLICKS = [(0.20, 0.25), (0.55, 0.20), (0.60, 0.65), (0.25, 0.70)]
MASK = {"label": "Fenêtres rue Nationale", "points": [[0.1, 0.2], [0.4, 0.15], [0.35, 0.6]]}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session], Browser]]:
    with seeded_browser_site(tmp_path, CAMERAS, admin_data=False, lille_nights_only=False) as site:
        yield site


def signed_in(browser: Browser, base_url: str, account: tuple[str, str]) -> tuple[Page, PageErrors]:
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    ctx.add_init_script(PROBE_JS)  # the live tiles' first-frame probe (pages.py)
    page, errors = new_page(ctx)
    LoginPage(page, base_url).open().log_in(*account)
    return page, errors


def click_at(page: Page, target: Locator, x: float, y: float) -> None:
    box = target.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def stored(factory: sessionmaker[Session], camera_id: int) -> tuple[list[Any], list[AuditEntry]]:
    with session_scope(factory) as db:
        camera = db.get(Camera, camera_id)
        assert camera is not None
        entries = list(
            db.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_masks_set"))
        )
        db.expunge_all()
        return list(camera.privacy_masks or []), entries


def test_mayor_draws_and_saves_a_mask(site: tuple[str, sessionmaker[Session], Browser]) -> None:
    base_url, factory, browser = site
    with session_scope(factory) as db:
        beffroi = int(db.scalars(select(Camera.id).where(Camera.name == "Beffroi")).one())
    page, errors = signed_in(browser, base_url, MAYOR)

    # Reached from the navigation, offered to the mayor.
    page.get_by_role("link", name=t("nav.masks"), exact=True).click()
    page.wait_for_url(f"{base_url}/masques")
    expect(page).to_have_title(f"{t('masks.page.title')} — {t('app.name')}")
    expect(page.locator("#mk-camera option")).to_have_count(1)  # Lille's camera only
    expect(page.locator("#mk-right")).to_have_text(t("masks.page.can_edit"))
    # No picture here (the camera is never reached): the neutral frame and its note.
    expect(page.locator("#mk-picture-note")).to_have_text(t("masks.page.no_picture"))
    expect(page.locator("#mk-picture")).to_be_hidden()
    expect(page.locator("#mk-list tbody tr")).to_have_text([t("masks.page.no_mask")])

    canvas = page.locator("#mk-canvas")
    page.get_by_label(t("masks.page.label"), exact=True).fill("Entrée du 12 rue Solférino")
    for x, y in CLICKS:
        click_at(page, canvas, x, y)
    expect(page.locator("#mk-pending .vertex")).to_have_count(4)
    click_at(page, canvas, 0.47, 0.47)  # one too many…
    page.get_by_role("button", name=t("masks.page.undo"), exact=True).click()  # …taken back
    expect(page.locator("#mk-pending .vertex")).to_have_count(4)
    click_at(page, canvas, *CLICKS[0])  # the first point again closes the zone
    expect(page.locator("#mk-pending .vertex")).to_have_count(0)
    expect(page.locator("#mk-masks polygon")).to_have_count(1)
    row = page.locator("#mk-list tbody tr").first
    expect(row.locator("input")).to_have_value("Entrée du 12 rue Solférino")
    expect(row.locator("td").nth(1)).to_have_text("4")

    # Refused: no reason. The API's French message; nothing stored.
    page.get_by_role("button", name=t("masks.page.save"), exact=True).click()
    expect(page.locator("#mk-error")).to_have_text(t("masks.reason_required"))
    expect(page.locator("#mk-reason")).to_have_attribute("aria-invalid", "true")
    assert stored(factory, beffroi) == ([], [])

    # Accepted.
    page.locator("#mk-reason").fill("Demande du riverain, courrier du 20/11")
    page.get_by_role("button", name=t("masks.page.save"), exact=True).click()
    expect(page.locator("#mk-message")).to_have_text(
        t("masks.page.saved", camera="Beffroi", count=1)
    )
    expect(page.locator("#mk-error")).to_be_empty()
    client = page.context.request
    got = client.get(f"{base_url}/api/cameras/{beffroi}/privacy-masks").json()
    assert got["can_edit"] is True
    [mask] = got["masks"]
    assert mask["label"] == "Entrée du 12 rue Solférino"
    assert len(mask["points"]) == len(CLICKS)
    off = max(
        max(abs(x - cx), abs(y - cy))
        for (x, y), (cx, cy) in zip(mask["points"], CLICKS, strict=True)
    )
    print(f"saved points off the clicks by {off:.4f} of the picture")
    assert off <= 0.02, (mask["points"], CLICKS)
    masks, entries = stored(factory, beffroi)
    assert masks == got["masks"]
    [entry] = entries
    assert entry.actor == MAYOR[0]
    assert entry.reason == "Demande du riverain, courrier du 20/11"
    assert entry.target == f"camera:{beffroi}"
    assert entry.details["before"] == [] and entry.details["after"] == got["masks"]

    # Refused: a flat zone (three points on one line). The French message; nothing changes.
    for x in (0.7, 0.8, 0.9):
        click_at(page, canvas, x, 0.5)
    page.get_by_role("button", name=t("masks.page.close_zone"), exact=True).click()
    expect(page.locator("#mk-masks polygon")).to_have_count(2)
    page.locator("#mk-reason").fill("Deuxième zone")
    page.get_by_role("button", name=t("masks.page.save"), exact=True).click()
    expect(page.locator("#mk-error")).to_have_text(t("masks.flat", n=2))
    after, entries_after = stored(factory, beffroi)
    assert after == masks and [e.id for e in entries_after] == [entry.id]
    # Failed loads: the snapshot ticket (no image right here: this app asks a
    # second factor for images) and the two refused saves.
    assert errors.failed_loads.count(f"{base_url}/api/cameras/{beffroi}/privacy-masks") == 2
    errors.assert_clean(("/favicon.ico", "/tickets", "/privacy-masks"))
    page.context.close()


def test_operator_sees_masks_read_only(site: tuple[str, sessionmaker[Session], Browser]) -> None:
    base_url, factory, browser = site
    with session_scope(factory) as db:
        camera = db.scalars(select(Camera).where(Camera.name == "Beffroi")).one()
        camera.privacy_masks = [MASK]
        beffroi = camera.id
    page, errors = signed_in(browser, base_url, OPERATOR)
    # Not an editor: offered the page all the same (navigation.py), read-only.
    expect(page.get_by_role("link", name=t("nav.masks"), exact=True)).to_have_count(1)
    page.goto(f"{base_url}/masques?camera={beffroi}")
    expect(page.locator("#mk-right")).to_have_text(t("masks.page.read_only"))
    expect(page.locator("#mk-masks polygon")).to_have_count(1)
    expect(page.locator("#mk-list tbody tr td").first).to_have_text(MASK["label"])
    expect(page.locator("#mk-tools")).to_be_hidden()
    expect(page.locator("#mk-form")).to_be_hidden()
    click_at(page, page.locator("#mk-canvas"), 0.8, 0.8)  # draws nothing
    expect(page.locator("#mk-pending .vertex")).to_have_count(0)
    expect(page.locator("#mk-picture-note")).to_have_text(t("masks.page.no_picture"))
    errors.assert_clean(("/favicon.ico", "/tickets"))  # no image right without a second factor
    page.context.close()


# The mask's bounding box on screen and where it should be: the mask's
# fractions of the picture area of the <video> (object-fit: contain).
BOXES_JS = """
(video) => {
  const r = video.getBoundingClientRect();
  const s = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
  const w = video.videoWidth * s, h = video.videoHeight * s;
  const left = r.left + (r.width - w) / 2, top = r.top + (r.height - h) / 2;
  const poly = video.parentElement.querySelector("svg.privacy-masks polygon");
  const b = poly.getBoundingClientRect();
  const pts = JSON.parse(video.dataset.maskPoints);
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  return {
    actual: [b.left, b.top, b.right, b.bottom],
    expected: [left + Math.min(...xs) * w, top + Math.min(...ys) * h,
               left + Math.max(...xs) * w, top + Math.max(...ys) * h],
    fill: getComputedStyle(poly).fill, opacity: getComputedStyle(poly.parentElement).opacity,
    box: [r.width, r.height], picture: [w, h],
  };
}
"""


def assert_mask_over_picture(video: Locator, what: str) -> dict[str, Any]:
    video.evaluate("(v, pts) => { v.dataset.maskPoints = pts; }", json.dumps(MASK["points"]))
    got: dict[str, Any] = video.evaluate(BOXES_JS)
    deviation = max(abs(a - e) for a, e in zip(got["actual"], got["expected"], strict=True))
    print(f"{what}: box {got['box']}, picture {got['picture']}, mask off by {deviation:.2f} px")
    assert deviation <= 2, f"{what}: mask at {got['actual']}, expected {got['expected']}"
    assert got["fill"] == "rgb(0, 0, 0)" and got["opacity"] == "1", got
    return got


def test_masks_over_live_and_playback(tmp_path: Path) -> None:
    with (
        running_stack(tmp_path, [small_camera(1, "Beffroi")]) as stack,  # Lille
        closing(stack.client(SUPERVISOR)) as supervisor,
    ):
        cam_id = stack.cameras(supervisor)["Beffroi"]["id"]
        r = supervisor.put(
            f"/api/cameras/{cam_id}/privacy-masks",
            json={"masks": [MASK], "reason": "Fenêtres d'habitation"},
        )
        assert r.status_code == 200, r.text
        stack.wait_for(
            supervisor, lambda c: c["Beffroi"]["status"]["main"]["state"] == "online", 30, "online"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                # The mayor edits over the camera's real picture (snapshot ticket).
                page, errors = signed_in(browser, stack.base_url, MAYOR)
                page.goto(f"{stack.base_url}/masques?camera={cam_id}")
                expect(page.locator("#mk-stage")).to_have_attribute("data-picture", "shown")
                assert page.locator("#mk-picture").evaluate("(i) => i.naturalWidth") == 640
                expect(page.locator("#mk-picture-note")).to_be_empty()
                expect(page.locator("#mk-masks polygon")).to_have_count(1)
                errors.assert_clean()
                page.context.close()

                # Live: the operator's tile.
                page, errors = signed_in(browser, stack.base_url, OPERATOR)
                live = LivePage(page, stack.base_url).open([cam_id], stream="sub")
                live.wait_playing([cam_id])
                video = live.tile(cam_id).locator("video")
                got = assert_mask_over_picture(video, "live tile")
                assert got["box"] == pytest.approx(got["picture"], abs=1)  # 16:9 tile
                # A box of other proportions: the picture is letterboxed, the mask follows.
                live.tile(cam_id).evaluate("(t) => { t.style.aspectRatio = '1 / 1'; }")
                page.wait_for_function(
                    "(v) => v.getBoundingClientRect().height > v.getBoundingClientRect().width"
                    " * 0.9",
                    arg=video.element_handle(),
                )
                page.wait_for_timeout(100)  # the ResizeObserver's callback
                got = assert_mask_over_picture(video, "letterboxed live tile")
                assert got["box"][1] > got["picture"][1] + 50, got
                # The single view (main stream).
                live.open_single(cam_id)
                live.wait_playing([cam_id])
                page.wait_for_function(
                    "(id) => document.querySelector(`#grid .tile[data-camera-id='${id}'] video`)"
                    ".videoWidth === 640",
                    arg=cam_id,
                )
                assert_mask_over_picture(live.tile(cam_id).locator("video"), "single view")

                # Playback of the recording.
                segs = stack.recorded(cam_id, 4)
                at = datetime.fromtimestamp(segs[0].start_utc.timestamp() + 1, UTC)
                page.goto(f"{stack.base_url}/playback?camera={cam_id}&at={quote(at.isoformat())}")
                page.wait_for_function(
                    "() => document.querySelectorAll('#pb-camera option').length > 0"
                )
                page.locator("#pb-reason").fill("Vérification des masques")
                page.locator("#pb-form button[type=submit]").click()
                page.wait_for_function(
                    "() => document.getElementById('pb-video')"
                    ".getVideoPlaybackQuality().totalVideoFrames >= 3"
                )
                page.locator("#pb-video").evaluate(  # a square box: letterboxed
                    "(v) => { const s = v.parentElement.style;"
                    " s.aspectRatio = 'auto'; s.width = '400px'; s.height = '400px'; }"
                )
                page.wait_for_timeout(100)
                got = assert_mask_over_picture(page.locator("#pb-video"), "playback")
                assert got["box"][1] > got["picture"][1] + 100, got
                errors.assert_clean()
            finally:
                browser.close()
