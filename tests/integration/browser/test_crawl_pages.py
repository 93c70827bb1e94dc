"""Every demo role in a real headless Chromium follows every link it is shown.

For each account of ``vigie demo`` (``DEMO_ACCOUNTS``): sign in through the
login form, then breadth-first follow each same-origin link the pages show
(links inside ``hidden`` elements and ``<template>`` excepted), each distinct
path pattern once (numbers and INSEE codes folded, query names kept), at most
``MAX_PAGES`` a role. It fails on:

- any answer ≥ 400 to a followed link (a page or file shown to the user that
  then refuses it, or a 5xx);
- any answer ≥ 400 to what the page itself requests (its scripts' fetch/XHR,
  styles, images) on the same origin;
- any console error or uncaught exception (a Content-Security-Policy violation
  prints one, so CSP breakage is caught here too).

Every finding of every role is collected before failing, so one run lists them all.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.admin.pages_support import EXAMPLE, seeded_browser_site
from tests.integration.browser.pages import CHROMIUM, LoginPage
from vigie.admin.models import ParticipationScenario
from vigie.cli.demo import DEMO_ACCOUNTS, DEMO_COMMUNES
from vigie.storage.db import session_scope

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]

MAX_PAGES = 40  # distinct link patterns followed per role
# Two cameras per demo commune, never connected to (the pages must cope).
CAMERAS: list[tuple[str, str, str, str | None]] = [
    (f"{name} {i}", code, f"rtsp://127.0.0.1:9/{code}-{i}", None)
    for code, name in DEMO_COMMUNES
    for i in (1, 2)
]
ACCOUNTS = [(username, password) for username, password, *_ in DEMO_ACCOUNTS]
# A followed link that gives the browser a file rather than a page.
HTML = "text/html"


def pattern(url: str) -> str:
    """The link's shape: path segments that are numbers or codes folded, query names kept."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|\.|$)", "/N", parts.path)
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(names) if names else "")


class Crawl:
    """One role's walk: the findings, the patterns seen, the pages still to visit."""

    def __init__(self, ctx: BrowserContext, base_url: str, who: str) -> None:
        self.ctx, self.base_url, self.who = ctx, base_url, who
        self.findings: list[str] = []
        self.seen: set[str] = set()
        self.queue: deque[tuple[str, str]] = deque()  # (url, page that showed it)
        self.visited = 0
        self.current = ""

    def note(self, text: str) -> None:
        self.findings.append(f"[{self.who}] {text}")

    def offer(self, url: str, shown_on: str) -> None:
        url = urldefrag(url).url
        if not url.startswith(self.base_url + "/"):
            return  # another origin, mailto:, javascript: … are not followed
        key = pattern(url)
        if key not in self.seen:
            self.seen.add(key)
            self.queue.append((url, shown_on))

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.note(f"{self.current}: exception {exc}"))
        page.on("response", self._response)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "")
            self.note(f"{self.current}: console error {msg.text!r} ({where})")

    def _response(self, response: Response) -> None:
        if response.url.startswith(self.base_url) and response.status >= 400:
            self.note(
                f"{self.current}: {response.request.method} {response.url} "
                f"answered {response.status}"
            )

    def visit(self, page: Page, url: str, shown_on: str) -> None:
        self.visited += 1
        self.current = url.removeprefix(self.base_url)
        # Ask first with the same cookies: files (CSV, PDF, XLSX) are checked, not opened.
        answer = self.ctx.request.get(url, fail_on_status_code=False)
        kind = answer.headers.get("content-type", "")
        if answer.status >= 400:
            self.note(f"link {self.current} shown on {shown_on} answered {answer.status}")
            return
        if not kind.startswith(HTML):
            return
        page.goto(url, wait_until="load")
        # The pages' own requests (lists, catalogue) are made after load; a page
        # that polls never goes idle: what it asked within 5 s is checked.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=5_000)
        links = page.eval_on_selector_all(
            "a[href]",
            "els => els.filter(e => !e.closest('[hidden], template')).map(e => e.href)",
        )
        for link in links:
            self.offer(link, self.current)


def crawl(browser: Browser, base_url: str, account: tuple[str, str]) -> Crawl:
    ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        walk = Crawl(ctx, base_url, account[0])
        walk.current = "/login"
        walk.watch(page)
        LoginPage(page, base_url).open().log_in(*account)
        walk.offer(page.url, "/login")  # where signing in leads
        walk.offer(base_url + "/", "/login")
        while walk.queue and walk.visited < MAX_PAGES:
            url, shown_on = walk.queue.popleft()
            walk.visit(page, url, shown_on)
        if walk.queue:
            walk.note(f"more than {MAX_PAGES} link patterns: raise MAX_PAGES")
        return walk
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Browser]]:
    folder = tmp_path_factory.mktemp("crawl")
    with seeded_browser_site(folder, CAMERAS, demo_mask=True) as (base_url, factory, browser):
        _saved_scenario(factory)
        yield base_url, browser


def _saved_scenario(factory: sessionmaker[Session]) -> None:
    import json

    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with session_scope(factory) as db:
        db.add(ParticipationScenario(name=spec["name"], spec=spec))


def test_pattern_folds_ids_and_keeps_query_names() -> None:
    assert pattern("http://h/admin/questionnaire/1/59011") == "/admin/questionnaire/N/N"
    assert pattern("http://h/couverture?commune=59350&week=2025-02-10") == (
        "/couverture?commune&week"
    )
    assert pattern("http://h/api/admin/reports/communes/59350.html") == (
        "/api/admin/reports/communes/N.html"
    )


@pytest.mark.parametrize("account", ACCOUNTS, ids=[a[0] for a in ACCOUNTS])
def test_every_link_shown_works(site: tuple[str, Browser], account: tuple[str, str]) -> None:
    base_url, browser = site
    walk = crawl(browser, base_url, account)
    print(f"{account[0]}: {walk.visited} pages followed, {len(walk.seen)} link patterns seen")
    assert walk.visited > 1, "signing in showed no link to follow"
    assert not walk.findings, "\n".join(walk.findings)
