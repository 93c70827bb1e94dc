"""Page objects for Vigie's browser tests (Playwright, sync API).

The player is measured with Chromium's own counters only:
``getVideoPlaybackQuality().totalVideoFrames`` for decoded frames and
``requestVideoFrameCallback`` for the instant a frame reaches the screen —
never ``currentTime``, which the player moves itself when it jumps to the live
edge. ``PROBE_JS`` runs before the page's scripts and stamps every tile on
creation, so "time to first frame" starts when live.js creates the tile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip

# Per tile (a property of the element, so a re-created tile starts afresh):
# created / firstFrame (performance.now() ms), the largest gap between two
# presented frames, and the largest live lag (buffered end - playhead) seen
# by a 100 ms sampler once playback has started.
PROBE_JS = """
(() => {
  const watch = (tile) => {
    if (tile.__probe) return;
    const video = tile.querySelector("video");
    const p = tile.__probe = {created: performance.now(), firstFrame: null, lastFrame: null,
                              maxFrameGapMs: 0, maxLagS: 0, lagSamples: 0};
    if (!video) return;
    const onFrame = (now) => {
      if (!tile.isConnected) return;
      if (p.firstFrame === null) p.firstFrame = now;
      else p.maxFrameGapMs = Math.max(p.maxFrameGapMs, now - p.lastFrame);
      p.lastFrame = now;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    const timer = setInterval(() => {
      if (!tile.isConnected) { clearInterval(timer); return; }
      const b = video.buffered;
      if (p.firstFrame === null || video.paused || video.seeking || !b.length) return;
      p.maxLagS = Math.max(p.maxLagS, b.end(b.length - 1) - video.currentTime);
      p.lagSamples += 1;
    }, 100);
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.matches(".tile[data-camera-id]")) watch(n);
      n.querySelectorAll(".tile[data-camera-id]").forEach(watch);
    }
  }).observe(document, {childList: true, subtree: true});
})();
"""

TILE_STATE_JS = """
(tile) => {
  const v = tile.querySelector("video");
  const q = v.getVideoPlaybackQuality();
  const p = tile.__probe || {};
  return {
    frames: q.totalVideoFrames, dropped: q.droppedVideoFrames,
    width: v.videoWidth, height: v.videoHeight,
    mediaError: v.error ? `${v.error.code} ${v.error.message}` : null,
    message: tile.querySelector(".message").textContent,
    unsupported: tile.dataset.unsupported === "1",
    hasSource: !!v.getAttribute("src"),
    lagS: v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : null,
    ranges: v.buffered.length,
    atNewestRange: v.buffered.length > 0
      && v.currentTime >= v.buffered.start(v.buffered.length - 1),
    created: p.created ?? null, firstFrame: p.firstFrame ?? null,
    maxFrameGapMs: p.maxFrameGapMs ?? 0, maxLagS: p.maxLagS ?? 0, lagSamples: p.lagSamples ?? 0,
    now: performance.now(),
  };
}
"""


@dataclass(frozen=True)
class TileState:
    frames: int
    dropped: int
    width: int
    height: int
    media_error: str | None
    message: str
    unsupported: bool
    has_source: bool
    lag_s: float | None
    ranges: int
    at_newest_range: bool
    created_ms: float | None
    first_frame_ms: float | None
    max_frame_gap_ms: float
    max_lag_s: float
    lag_samples: int
    now_ms: float

    @staticmethod
    def of(raw: dict[str, Any]) -> TileState:
        return TileState(
            frames=int(raw["frames"]), dropped=int(raw["dropped"]),
            width=int(raw["width"]), height=int(raw["height"]), media_error=raw["mediaError"],
            message=str(raw["message"]), unsupported=bool(raw["unsupported"]),
            has_source=bool(raw["hasSource"]), lag_s=raw["lagS"], ranges=int(raw["ranges"]),
            at_newest_range=bool(raw["atNewestRange"]), created_ms=raw["created"],
            first_frame_ms=raw["firstFrame"], max_frame_gap_ms=float(raw["maxFrameGapMs"]),
            max_lag_s=float(raw["maxLagS"]), lag_samples=int(raw["lagSamples"]),
            now_ms=float(raw["now"]),
        )  # fmt: skip

    @property
    def time_to_first_frame_s(self) -> float | None:
        if self.created_ms is None or self.first_frame_ms is None:
            return None
        return (self.first_frame_ms - self.created_ms) / 1000


@dataclass
class PageErrors:
    """JS exceptions and console errors of one page; failed loads kept apart by URL."""

    errors: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"exception: {exc}"))
        page.on("console", self._on_console)

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = str(msg.location.get("url", ""))
        if msg.text.startswith("Failed to load resource"):
            self.failed_loads.append(url)
        else:
            self.errors.append(f"console: {msg.text} ({url})")

    def assert_clean(self, allowed_failed_loads: tuple[str, ...] = ("/favicon.ico",)) -> None:
        unexpected = [u for u in self.failed_loads if not u.endswith(allowed_failed_loads)]
        assert not self.errors, "JS errors on the page:\n" + "\n".join(self.errors)
        assert not unexpected, f"resources failed to load: {unexpected}"


class LoginPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def open(self) -> LoginPage:
        self.page.goto(f"{self.base_url}/login")
        return self

    def log_in(self, username: str, password: str) -> None:
        """Fill and submit the real form; its script posts /api/auth/login, then goes
        to ``next`` or the role's first page (``/live`` for those who see images)."""
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(password)
        self.page.locator("form#login button[type=submit]").click()
        self.page.wait_for_url(lambda url: urlsplit(url).path not in ("/login", "/"))
        expect(self.page.locator("#login-error")).to_have_count(0)


class LivePage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def open(self, camera_ids: list[int] | None = None, stream: str = "sub") -> LivePage:
        query = f"?cameras={','.join(map(str, camera_ids))}&stream={stream}" if camera_ids else ""
        self.page.goto(f"{self.base_url}/live{query}")
        # The camera list is rendered once live.js has its catalogue and the camera list.
        expect(self.page.locator("#cameras input[type=checkbox]").first).to_be_attached()
        return self

    def checkbox(self, camera_id: int) -> Locator:
        return self.page.locator(f'#cameras input[type=checkbox][data-camera-id="{camera_id}"]')

    def tick(self, camera_id: int) -> None:
        # The list is re-rendered every 3 s; check() re-resolves the locator if it goes stale.
        self.checkbox(camera_id).check()
        expect(self.tile(camera_id)).to_have_count(1)

    def tiles(self) -> Locator:
        return self.page.locator("#grid .tile[data-camera-id]")

    def tile(self, camera_id: int) -> Locator:
        return self.page.locator(f'#grid .tile[data-camera-id="{camera_id}"]')

    def message(self, camera_id: int) -> Locator:
        return self.tile(camera_id).locator(".message")

    def open_single(self, camera_id: int) -> None:
        self.tile(camera_id).locator("button.single").click()
        expect(self.tiles()).to_have_count(1)

    def state(self, camera_id: int) -> TileState:
        return TileState.of(self.tile(camera_id).evaluate(TILE_STATE_JS))

    def reset_probe(self, camera_id: int) -> None:
        """Forget the largest lag and frame gap seen so far (e.g. after a forced stall)."""
        self.tile(camera_id).evaluate(
            "(tile) => { tile.__probe.maxLagS = 0; tile.__probe.maxFrameGapMs = 0;"
            " tile.__probe.lagSamples = 0; }"
        )

    def states(self, camera_ids: list[int]) -> dict[int, TileState]:
        """All tiles read in one round trip, so they share one instant."""
        raw = self.page.evaluate(
            f"""(ids) => {{
                const read = {TILE_STATE_JS};
                return ids.map((id) => read(
                    document.querySelector(`#grid .tile[data-camera-id="${{id}}"]`)));
            }}""",
            camera_ids,
        )
        return {cid: TileState.of(r) for cid, r in zip(camera_ids, raw, strict=True)}

    def wait_playing(self, camera_ids: list[int], timeout_s: float = 15) -> dict[int, TileState]:
        """Poll until every tile has presented a frame; return the tiles' state then."""
        deadline = time.monotonic() + timeout_s
        while True:
            states = self.states(camera_ids)
            waiting = [c for c, s in states.items() if s.first_frame_ms is None or s.frames == 0]
            if not waiting:
                return states
            errors = {c: s.media_error for c, s in states.items() if s.media_error}
            assert not errors, f"media errors: {errors}"
            if time.monotonic() > deadline:
                raise AssertionError(f"no frame after {timeout_s} s on tiles {waiting}: {states}")
            self.page.wait_for_timeout(100)


def new_page(context: BrowserContext) -> tuple[Page, PageErrors]:
    page = context.new_page()
    errors = PageErrors()
    errors.attach(page)
    return page, errors
