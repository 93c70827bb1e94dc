"""After signing in, Chromium stays on this site whatever ``next`` says.

The probe of 2026-12 left for example.org with ``/login?next=/%5Cexample.org/x``
(and tab, newline, ``/\\/``): Chromium reads "/\\host" as "//host". Only a page
of the application is followed (server-side ``safe_next``, checked again by
login.js); anything else leads to the role's first page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser

from tests.integration.admin.pages_support import MAYOR, seeded_browser_site
from tests.integration.browser.pages import CHROMIUM, PageErrors

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]

HOSTILE = ["/%5Cexample.org/x", "/%09/example.org/x", "/%0A/example.org/x", "/\\/example.org"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Browser]]:
    folder = tmp_path_factory.mktemp("redirect")
    with seeded_browser_site(folder, [], admin_data=False) as (base_url, _factory, browser):
        yield base_url, browser


def sign_in_with_next(browser: Browser, base_url: str, next_raw: str) -> str:
    """Sign in on ``/login?next=<next_raw>`` (raw: as typed in the address bar); where it lands."""
    ctx = browser.new_context(locale="fr-FR")
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        errors = PageErrors()
        errors.attach(page)
        page.goto(f"{base_url}/login?next={next_raw}")
        page.locator("input[name=username]").fill(MAYOR[0])
        page.locator("input[name=password]").fill(MAYOR[1])
        page.locator("form#login button[type=submit]").click()
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")
        page.wait_for_load_state("load")
        return page.url
    finally:
        ctx.close()


@pytest.mark.parametrize("next_raw", HOSTILE)
def test_hostile_next_stays_on_the_site(site: tuple[str, Browser], next_raw: str) -> None:
    base_url, browser = site
    landed = sign_in_with_next(browser, base_url, next_raw)
    assert landed.startswith(base_url + "/"), landed
    assert urlsplit(landed).path == "/live"  # the mayor's first page


def test_a_page_of_the_site_is_followed(site: tuple[str, Browser]) -> None:
    base_url, browser = site
    landed = sign_in_with_next(browser, base_url, "/droits")
    assert landed == f"{base_url}/droits"
