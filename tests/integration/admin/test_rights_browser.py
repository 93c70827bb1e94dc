"""The rights page in a real Chromium: the mayor of Lille revokes the centre's
delegation and grants a new one through the form, with the CSRF header and
the real API; the audit log has both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.admin.pages_support import MAYOR, demo_app, demo_database, live_server

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    with (
        live_server(demo_app(tmp_path, demo_database(tmp_path))) as base_url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(base_url=base_url, locale="fr-FR").new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/login")
            page.fill("input[name=username]", MAYOR[0])
            page.fill("input[name=password]", MAYOR[1])
            page.click("button[type=submit]")
            page.wait_for_url("**/live")
            yield page
            assert errors == []
        finally:
            browser.close()


def test_mayor_revokes_and_grants_a_delegation(page: Any) -> None:
    page.goto("/droits")
    rows = page.locator("#delegations tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1  # only Lille's: the mayor's commune
    assert "Lille" in rows.first.inner_text() and "Nuits et week-ends" in rows.first.inner_text()
    page.once("dialog", lambda d: d.accept("fin de la convention"))
    rows.first.locator("button", has_text="Révoquer").click()
    page.wait_for_selector("#delegations tbody tr >> text=révoquée")
    form = page.locator("#new-delegation")
    form.locator("input[name=label]").fill("Fin de semaine")
    form.locator("input[name=day][value='5']").check()
    form.locator("input[name=day][value='6']").check()
    form.locator("input[name=start]").fill("00:00")
    form.locator("input[name=end]").fill("00:00")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#delegations tbody tr >> text=Fin de semaine")
    new_row = page.locator("#delegations tbody tr", has_text="Fin de semaine").inner_text()
    assert "samedi 00:00 (24 h), dimanche 00:00 (24 h)" in new_row and "active" in new_row
    assert page.locator("#rights-message").inner_text() == "Enregistré."
    # The audit export of the page (JSON) has both changes with the mayor's name.
    r = page.request.get(
        "/api/audit?start=2020-01-01T00:00:00Z&end=2100-01-01T00:00:00Z&commune=59350&format=json"
    )
    assert r.status == 200
    actions = {(e["action"], e["actor"]) for e in r.json()}
    assert ("delegation_revoked", MAYOR[0]) in actions
    assert ("delegation_created", MAYOR[0]) in actions


def test_requisitions_and_playback_pages_run_their_scripts(page: Any) -> None:
    # Both pages share the catalogue and API helpers (static/common.js) with the others.
    for path in ("/requisitions", "/playback"):
        page.goto(path)
        # main() ran: the catalogue is loaded and the session's CSRF token is set.
        # A function, not an expression: the CSP allows no eval, Playwright's included.
        page.wait_for_function("() => Object.keys(T).length > 0 && csrf.length > 0")
