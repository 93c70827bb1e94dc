from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from vigie.admin.demo import demo_inventory
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.control.app import create_app
from vigie.control.passwords import hash_password
from vigie.domain import roles
from vigie.storage.db import session_scope
from vigie.storage.models import Account, AccountCommune

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "participation_scenario.json"


@pytest.fixture
def app_client(tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with session_scope(session_factory) as db:
        for name, role, communes in (
            ("equipe", roles.PROJECT_TEAM, []),
            ("maire-bousbecque", roles.COMMUNE_AUTHORITY, ["59098"]),
            ("operateur", roles.CMSU_OPERATOR, []),
        ):
            account = Account(
                username=name, password_hash=hash_password("motdepasse-long"), role=role
            )
            account.communes = [AccountCommune(commune_insee=c) for c in communes]
            db.add(account)
    app = create_app(
        Settings(data_dir=tmp_path, secret_key="admin-api-test-secret-" + "k" * 20),
        sessions=session_factory, background=False,
        clock=SimulatedClock(datetime(2025, 1, 20, 10, 0, tzinfo=UTC)),
    )  # fmt: skip
    with TestClient(app) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": "motdepasse-long"})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf"]}


def test_subsidy_endpoint_and_roles(app_client: TestClient) -> None:
    body = {"eligible_cost": "100000", "total_cost": "120000", "other_subsidies": "30000",
            "priority": True, "multi_commune": True, "date": "2025-03-01"}  # fmt: skip
    assert app_client.post("/api/admin/finance/subsidy", json=body).status_code == 401
    login(app_client, "operateur")
    assert app_client.post("/api/admin/finance/subsidy", json=body).status_code == 403
    headers = login(app_client, "equipe")
    assert (
        app_client.post("/api/admin/finance/subsidy", json=body).status_code == 403
    )  # no CSRF token
    r = app_client.post("/api/admin/finance/subsidy", json=body, headers=headers)
    assert r.status_code == 200
    assert (r.json()["amount"], r.json()["limited_by"]) == ("45000.00", "legal_cap")
    bad = app_client.post(
        "/api/admin/finance/subsidy", json=body | {"other_subsidies": "200000"}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "other_subsidies"


def test_scenarios_saved_computed_and_compared(app_client: TestClient) -> None:
    import json

    headers = login(app_client, "equipe")
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    a = app_client.post("/api/admin/finance/scenarios", json=spec, headers=headers).json()["id"]
    b_spec = spec | {
        "name": "Scénario B — par habitant",
        "keys": {"fixed": "20", "population": "80"},
    }
    b = app_client.post("/api/admin/finance/scenarios", json=b_spec, headers=headers).json()["id"]
    dup = app_client.post("/api/admin/finance/scenarios", json=spec, headers=headers)
    assert dup.status_code == 409
    res = app_client.get(f"/api/admin/finance/scenarios/{a}/result").json()
    assert sum(Decimal(c["amount"]) for c in res["communes"]) == Decimal("1850000.00")
    cmp = app_client.get(f"/api/admin/finance/scenarios/compare?ids={a},{b}").json()
    assert [s["total"] for s in cmp["scenarios"]] == ["1850000.00", "1850000.00"]
    assert len(cmp["communes"]) == 38
    unknown = app_client.post(
        "/api/admin/finance/participation",
        json=spec | {"communes": [{"insee_code": "12345"}]},
        headers=headers,
    )
    assert (
        unknown.status_code == 422 and unknown.json()["error"]["field"] == "communes[0].insee_code"
    )


def test_inventory_import_refused_with_details_then_accepted(app_client: TestClient) -> None:
    headers = login(app_client, "equipe")
    sheets = demo_inventory(seed=11)
    sheets["cameras"][3][0] = "00000"
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("inventaire.xlsx", buf.getvalue(), "application/octet-stream")}
    r = app_client.post("/api/admin/inventory/import", files=files, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {
            "sheet": "cameras",
            "line": 4,
            "column": "commune_insee",
            "reason": r.json()["error"]["details"][0]["reason"],
        }
    ]
    assert all(s["cameras"] == 0 for s in app_client.get("/api/admin/inventory/summary").json())

    csv_rows = "commune_insee;count;mount;transport\n59098;34;fixed;ip\n"
    r = app_client.post(
        "/api/admin/inventory/import?sheet=cameras",
        files={"file": ("cam.csv", csv_rows.encode(), "text/csv")},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["rows"] == {"cameras": 1}
    exported = app_client.get("/api/admin/inventory/export/cameras.csv").text
    assert "59098,,34,fixed,ip" in exported


def test_questionnaire_scope_deadline_and_follow_up(app_client: TestClient) -> None:
    team = login(app_client, "equipe")
    c = app_client.post(
        "/api/admin/surveys/campaigns",
        json={"name": "AMI CMSU", "opens_on": "2024-12-23", "closes_on": "2025-02-17"},
        headers=team,
    ).json()
    mayor = login(app_client, "maire-bousbecque")
    base = f"/api/admin/surveys/campaigns/{c['id']}/responses"
    answers = {"cameras_to_connect": 34, "hours_wanted": {"saturday": 24, "sunday": 24}}
    r = app_client.put(f"{base}/59098/draft", json=answers, headers=mayor)
    assert r.status_code == 200 and r.json()["status"] == "draft"
    other = app_client.put(f"{base}/59350/draft", json=answers, headers=mayor)
    assert other.status_code == 403  # Lille is not this mayor's commune
    page = app_client.get(f"/admin/questionnaire/{c['id']}/59098")
    assert page.status_code == 200 and "Bousbecque" in page.text and "Transmettre" in page.text
    incomplete = app_client.post(f"{base}/59098/submit", json={}, headers=mayor)
    assert incomplete.status_code == 422
    full = answers | {
        "pooled_csu_interest": False,
        "ai_interest": False,
        "requisitions_per_month": 2,
    }
    ok = app_client.post(f"{base}/59098/submit", json={"answers": full}, headers=mayor)
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"

    app_client.app.state.clock.advance(86400 * 40)  # type: ignore[attr-defined]
    mayor = login(app_client, "maire-bousbecque")  # yesterday's sign-in has expired
    late = app_client.post(f"{base}/59098/submit", json={"answers": full}, headers=mayor)
    assert late.status_code == 409
    assert "17/02/2025" in late.json()["error"]["message"]

    login(app_client, "equipe")
    follow = {
        f["insee_code"]: f["status"]
        for f in app_client.get(f"/api/admin/surveys/campaigns/{c['id']}/follow-up").json()
    }
    assert follow["59098"] == "submitted" and follow["59350"] == "not_started"
    results = app_client.get(f"/api/admin/surveys/campaigns/{c['id']}/results").json()
    assert results["submitted"] == 1 and results["hours_by_weekday"]["sunday"] == 24

    html = app_client.get(f"/api/admin/reports/communes/59098.html?campaign_id={c['id']}")
    assert html.status_code == 200 and "Bousbecque" in html.text and "<svg" in html.text
    pdf = app_client.get(f"/api/admin/reports/synthesis.pdf?campaign_id={c['id']}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 2
