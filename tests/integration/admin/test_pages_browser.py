"""The admin pages in a real Chromium: the subsidy calculator and a refused
inventory import, through the scripts, the CSRF header and the real API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.admin.pages_support import PROJECT, demo_app, demo_database, live_server

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    with live_server(demo_app(folder, demo_database(folder))) as url:
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(base_url=base_url)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/login")
            r = page.request.post(
                "/api/auth/login", data={"username": PROJECT[0], "password": PROJECT[1]}
            )
            assert r.status == 200
            yield page
            assert errors == []
        finally:
            browser.close()


def plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_subsidy_form_computes_and_explains_in_chromium(page: Any) -> None:
    page.goto("/admin/subsidy")
    page.fill("#f-eligible_cost", "100000")
    page.fill("#f-total_cost", "120000")
    page.fill("#f-other_subsidies", "30000")
    page.fill("#f-date", "2025-03-01")
    page.check("#f-priority")
    page.check("#f-multi_commune")
    page.click("#subsidy-form button[type=submit]")
    page.wait_for_selector("#subsidy-result:not([hidden])")
    assert plain(page.inner_text("#r-amount")) == "45000,00€"
    assert page.inner_text("#r-limited") == "Limité par le plafond légal"
    assert page.get_attribute("tr.binding", "data-limit") == "legal_cap"
    steps = page.locator("#r-steps li").all_inner_texts()
    assert len(steps) >= 6
    assert any("CGCT L5215-26" in s for s in steps)

    # An error goes next to the field the server names.
    page.fill("#f-eligible_cost", "500000")
    page.click("#subsidy-form button[type=submit]")
    page.wait_for_selector('[data-error-for="eligible_cost"]:not(:empty)')
    assert "Dépense éligible" in page.inner_text('[data-error-for="eligible_cost"]')
    assert page.get_attribute("#f-eligible_cost", "aria-invalid") == "true"
    assert page.is_hidden("#subsidy-result")


def test_bad_inventory_file_shows_the_error_table(page: Any) -> None:
    page.goto("/admin/inventory")
    before = page.inner_text("#kpi-cameras")
    bad = (
        "commune_insee,site,count,mount,transport\n"
        "59350,Grand-Place,4,fixed,ip\n"
        "99999,Gare,abc,dome,ip\n"
    )
    page.set_input_files(
        "#inv-file", {"name": "cameras.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.select_option("#inv-sheet", "cameras")
    page.click("#inventory-import button[type=submit]")
    page.wait_for_selector("#import-errors tbody tr")
    assert "rien n'a été importé" in page.inner_text("#import-result p.error")
    rows = [
        [c.strip() for c in r.split("\t")]
        for r in page.locator("#import-errors tbody tr").all_inner_texts()
    ]
    assert len(rows) >= 3
    assert all(r[0] == "cameras" and r[1] == "3" for r in rows)
    columns = {r[2] for r in rows}
    assert {"commune_insee", "count", "mount"} <= columns
    page.reload()
    assert page.inner_text("#kpi-cameras") == before  # all or nothing
