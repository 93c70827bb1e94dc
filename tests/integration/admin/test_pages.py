"""The project team's HTML pages on the demo data, and who may see them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.admin.pages_support import MAYOR, PROJECT, demo_app, demo_database

HTML = {"Accept": "text/html,application/xhtml+xml"}
MANAGER_PAGES = [
    "/admin/campaigns/1/follow-up",
    "/admin/campaigns/1/results",
    "/admin/inventory",
    "/admin/scenarios",
    "/admin/scenarios/compare?ids=1&ids=2",
    "/admin/subsidy",
    "/admin/catalogue",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("pages")
    return demo_app(folder, demo_database(folder))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def login(client: TestClient, account: tuple[str, str]) -> str:
    r = client.post("/api/auth/login", json={"username": account[0], "password": account[1]})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def text(html: str) -> str:
    """The visible text, every kind of space (narrow no-break included) made plain."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_follow_up_page_counts_and_lists_the_95_communes(client: TestClient) -> None:
    login(client, PROJECT)
    r = client.get("/admin/campaigns/1/follow-up", headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<strong id="kpi-submitted">50</strong>' in html
    assert '<strong id="kpi-interested">38</strong>' in html
    assert '<strong id="kpi-not-started">45</strong>' in html
    assert html.count("<tr data-status=") == 95
    assert html.count('<tr data-status="submitted">') == 50
    for name in ("Lille", "Roubaix", "Wattrelos", "Bousbecque"):
        assert f"<td>{name}</td>" in html
    assert "/admin/questionnaire/1/59350" in html
    assert "transmis" in html and "pas de réponse" in html


def test_results_page_shows_typed_answers_and_charts(client: TestClient) -> None:
    login(client, PROJECT)
    r = client.get("/admin/campaigns/1/results", headers=HTML)
    assert r.status_code == 200
    api = client.get("/api/admin/surveys/campaigns/1/results").json()
    page = text(r.text)
    assert '<strong id="kpi-interested">38</strong>' in r.text
    assert r.text.count("<svg") >= 2  # hours per weekday, services
    for day in ("lundi", "dimanche"):
        assert day in page
    assert f"{api['hours_by_weekday']['monday']} h" in page
    assert f">{api['ai_interest']}<" in r.text
    assert "Traitement des réquisitions judiciaires" in page
    assert "Intérêt pour un CSU mutualisé" in page
    assert r.text.count('href="/admin/questionnaire/1/') == 50


def test_inventory_page_summary_import_form_and_exports(client: TestClient) -> None:
    login(client, PROJECT)
    r = client.get("/admin/inventory", headers=HTML)
    assert r.status_code == 200
    summary = client.get("/api/admin/inventory/summary").json()
    total = sum(int(s["cameras"]) for s in summary)
    assert f'id="kpi-cameras">{total:,}<'.replace(",", "\u202f") in r.text
    assert r.text.count("<tr data-value=") == 95
    assert 'id="inventory-import"' in r.text and 'type="file"' in r.text
    assert 'href="/api/admin/inventory/export.xlsx"' in r.text
    assert 'href="/api/admin/inventory/export/cameras.csv"' in r.text
    assert "/static/admin/inventory.js" in r.text


def test_scenario_pages_list_and_compare(client: TestClient) -> None:
    login(client, PROJECT)
    listing = client.get("/admin/scenarios", headers=HTML)
    assert listing.status_code == 200
    assert "Scénario B" in listing.text
    assert 'name="ids" value="1"' in listing.text and 'name="ids" value="2"' in listing.text
    assert 'id="scenario-form"' in listing.text
    r = client.get("/admin/scenarios/compare?ids=1&ids=2", headers=HTML)
    assert r.status_code == 200
    api = client.get("/api/admin/finance/scenarios/compare?ids=1,2").json()
    assert len(api["communes"]) == 38
    assert r.text.count("<tr><td>") == 38
    page = text(r.text)
    assert "Lille 59350" in page
    assert "1 850 000,00 €" in page


def test_calculator_page_computes_through_the_api(client: TestClient) -> None:
    csrf = login(client, PROJECT)
    r = client.get("/admin/subsidy", headers=HTML)
    assert r.status_code == 200
    names = set(re.findall(r'<input id="f-[a-z_]+" name="([a-z_]+)"', r.text))
    assert names == {"eligible_cost", "total_cost", "other_subsidies", "ceiling", "date",
                     "priority", "multi_commune"}  # fmt: skip
    assert "/static/admin/subsidy.js" in r.text
    assert "mel-fdc-csu-2025" in r.text  # the programmes table
    body = {"eligible_cost": "100000", "total_cost": "120000", "other_subsidies": "30000",
            "priority": True, "multi_commune": True, "date": "2025-03-01"}  # fmt: skip
    api = client.post("/api/admin/finance/subsidy", json=body, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200
    assert (api.json()["amount"], api.json()["limited_by"]) == ("45000.00", "legal_cap")
    bad = client.post(
        "/api/admin/finance/subsidy",
        json=body | {"eligible_cost": "200000"},
        headers={"X-CSRF-Token": csrf},
    )
    field = bad.json()["error"]["field"]
    assert f'data-error-for="{field}"' in r.text  # the page has a place for it


def test_commune_authority_sees_only_its_questionnaire(client: TestClient) -> None:
    login(client, MAYOR)
    home = client.get("/admin", headers=HTML)
    assert home.status_code == 200
    assert "/admin/questionnaire/1/59350" in home.text
    assert "/admin/inventory" not in home.text
    assert client.get("/admin/questionnaire/1/59350", headers=HTML).status_code == 200
    other = client.get("/admin/questionnaire/1/59512", headers=HTML)
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("text/html")
    for path in MANAGER_PAGES:
        page = client.get(path, headers=HTML)
        assert page.status_code == 403, path
        assert "Erreur 403" in page.text
        assert client.get(path).status_code == 403  # the JSON answer, for scripts


def test_project_team_sees_every_questionnaire_read_only(client: TestClient) -> None:
    login(client, PROJECT)
    r = client.get("/admin/questionnaire/1/59512", headers=HTML)
    assert r.status_code == 200
    assert "Roubaix" in r.text
    assert 'data-action="submit"' not in r.text
    assert client.get("/admin/campaigns/99/follow-up", headers=HTML).status_code == 404


def test_signed_out_browser_is_sent_to_the_login_page(client: TestClient) -> None:
    r = client.get("/admin/inventory", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/inventory"
    assert client.get("/admin/inventory").status_code == 401
    assert client.get("/admin/subsidy", headers=HTML).url.path == "/login"


def test_pages_load_only_local_assets(client: TestClient) -> None:
    login(client, PROJECT)
    for path in ["/admin", *MANAGER_PAGES]:
        html = client.get(path, headers=HTML).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_catalogue_page_lists_the_version_in_force(client: TestClient) -> None:
    login(client, PROJECT)
    r = client.get("/admin/catalogue", headers=HTML)
    assert r.status_code == 200
    page = text(r.text)
    assert "2025-v1" in page and "en vigueur" in page
    assert "Enregistrement (par caméra, par an)" in page and "120,00 €" in page


def test_questionnaire_of_a_commune_that_has_not_answered(client: TestClient) -> None:
    """Found by the crawl of 2026-12: a commune with no answer yet made the page fail (500)."""
    login(client, PROJECT)
    follow_up = client.get("/admin/campaigns/1/follow-up", headers=HTML).text
    silent = re.findall(
        r'<tr data-status="not_started">.*?/admin/questionnaire/1/(\d{5})', follow_up, re.S
    )
    assert "59011" in silent
    for commune in silent[:3]:
        r = client.get(f"/admin/questionnaire/1/{commune}", headers=HTML)
        assert r.status_code == 200, (commune, r.text[:300])
        assert 'data-status="not_started"' in r.text
