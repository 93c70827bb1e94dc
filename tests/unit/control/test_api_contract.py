"""The API contract (docs/design/api.md): every operation of /openapi.json says
what it answers, ids are bounded, and bad input is a 4xx naming the field,
never a 500. The fuzz test (tests/integration/test_api_fuzz.py) explores the
same contract; these are its findings kept as fast regression tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient

OVER = 2**63  # one past the largest database integer
PERIOD = "start=2026-06-01T00:00:00Z&end=2026-06-02T00:00:00Z"
JSON = "application/json"


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _typed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says something: not ``{}``, not a bare object of anything."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _typed(spec, schema.get("items", {}))
    if "anyOf" in schema or "oneOf" in schema:
        return all(_typed(spec, s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if schema.get("type") == "object" or not schema:
        return bool(schema.get("properties")) or isinstance(
            schema.get("additionalProperties"), dict
        )
    return "type" in schema or "enum" in schema or "const" in schema


def test_every_operation_declares_a_typed_answer(api: ApiClient) -> None:
    """JSON answers have a model; downloads name their media types; 204 has no body."""
    spec = api.get("/openapi.json").json()
    untyped = []
    operations = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            operations += 1
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, f"{method} {path}: no 2xx answer documented"
            for code in ok:
                content = op["responses"][code].get("content")
                if code == "204":
                    assert not content, f"{method} {path}: 204 with a body"
                    continue
                assert content, f"{method} {path}: {code} without content"
                if set(content) - {JSON}:
                    continue  # a file download: its media types are the contract
                if not _typed(spec, content[JSON].get("schema", {})):
                    untyped.append(f"{method.upper()} {path}")
    assert operations >= 84
    assert not untyped, f"untyped answers: {untyped}"


def test_every_error_answer_is_the_application_error_body(api: ApiClient) -> None:
    spec = api.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"][JSON]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
            if not path.startswith("/api/auth/login"):
                assert "401" in op["responses"], f"{method} {path}: 401 not documented"
            if "requestBody" in op:
                assert "400" in op["responses"] and "422" in op["responses"], (method, path)


def _field(r: Any) -> str:
    assert r.status_code == 422, (r.request.url, r.status_code, r.text)
    error = r.json()["error"]
    assert error["kind"] == "invalid_argument"
    return str(error["field"])


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", f"/api/cameras/{OVER}", None),
        ("PATCH", f"/api/cameras/{OVER}", {"name": "x"}),
        ("DELETE", f"/api/cameras/{OVER}", None),
        ("GET", f"/api/cameras/{OVER}/privacy-masks", None),
        ("GET", f"/api/cameras/{OVER}/recordings/timeline?{PERIOD}", None),
        ("POST", f"/api/delegations/{OVER}/revoke", {"reason": "x"}),
        ("POST", f"/api/accounts/{OVER}/disable", {"reason": "x"}),
        ("PATCH", f"/api/agrements/{OVER}", {"status": "valid"}),
        ("PUT", f"/api/authorisations/{OVER}/cameras", {"camera_ids": []}),
        ("GET", f"/api/admin/surveys/campaigns/{OVER}/results", None),
        ("GET", f"/api/admin/finance/scenarios/{OVER}/result", None),
        ("GET", f"/api/continuity/cameras/{OVER}/checks", None),
        ("DELETE", f"/api/continuity/contacts/{OVER}", None),
        ("GET", f"/api/admin/reports/synthesis.html?scenario_id={OVER}", None),
        ("GET", f"/api/continuity/alarms?limit={-OVER}", None),
        ("GET", f"/admin/campaigns/{OVER}/results", None),  # pages too
        ("GET", f"/admin/scenarios/compare?ids=1&ids={OVER}", None),
        ("POST", "/api/agrements", {"account_id": OVER, "reference": "R", "issued_on":
                                    "2026-01-01", "vetted_on": "2026-01-01",
                                    "expires_on": "2027-01-01"}),
    ],
)  # fmt: skip
def test_ids_past_the_database_integer_are_refused_naming_the_field(
    admin: ApiClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    """Ids ≥ 2^63 made SQLite raise OverflowError: a 500 (issue 13, item 9)."""
    r = admin.request(method, url, json=body)
    assert _field(r) in {
        "camera_id", "delegation_id", "account_id", "agrement_id", "auth_id", "campaign_id",
        "scenario_id", "contact_id", "limit", "ids.1",
    }  # fmt: skip


@pytest.mark.parametrize("ids", ["abc", "1,x", ",", "99999999999999999999", "0", "1;2", "-1"])
def test_compare_refuses_what_is_not_a_list_of_ids(admin: ApiClient, ids: str) -> None:
    r = admin.get(f"/api/admin/finance/scenarios/compare?ids={ids}")
    assert _field(r) == "ids"
    assert "1,2" in r.json()["error"]["message"]  # says what to send


def test_camera_patch_refuses_null_for_a_required_field(admin: ApiClient) -> None:
    cam = admin.post(
        "/api/cameras",
        json={"name": "C", "commune_insee": "59350", "main_url": "rtsp://192.0.2.1/m"},
    ).json()
    for field in ("kind", "name", "enabled", "description", "commune_insee", "main_url"):
        assert _field(admin.patch(f"/api/cameras/{cam['id']}", json={field: None})) == field
    cleared = admin.patch(f"/api/cameras/{cam['id']}", json={"sub_url": None, "lon": None})
    assert cleared.status_code == 200, cleared.text


def test_availability_of_a_camera_never_recorded(admin: ApiClient) -> None:
    """No recording state in the period: ``recording_pct`` is null, not a 500."""
    cam = admin.post(
        "/api/cameras",
        json={"name": "C", "commune_insee": "59350", "main_url": "rtsp://192.0.2.1/m"},
    ).json()
    r = admin.get(f"/api/continuity/availability?{PERIOD}")
    assert r.status_code == 200, r.text
    assert r.json()["cameras"][str(cam["id"])]["recording_pct"] is None


def test_framework_errors_have_the_application_error_body(admin: ApiClient) -> None:
    missing = admin.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"]["kind"] == "not_found"
    wrong = admin.put("/api/communes")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert "GET" in wrong.json()["error"]["message"]
    unreadable = admin.post("/api/sites", content=b"\xff\xfe{", headers={"content-type": JSON})
    assert unreadable.status_code == 400
    assert unreadable.json()["error"]["field"] == "body"


def test_audit_export_refuses_a_commune_that_is_not_an_insee_code(admin: ApiClient) -> None:
    """Found by the fuzzer (seed 20261208): a commune out of latin-1 went into the
    file name of the Content-Disposition header: UnicodeEncodeError, a 500."""
    r = admin.get(f"/api/audit?{PERIOD}&format=csv&commune=%C3%AA%F2%90%87%89")
    assert _field(r) == "commune"
    ok = admin.get(f"/api/audit?{PERIOD}&format=csv&commune=59350")
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"].startswith("text/csv")
    assert 'filename="journal-59350-2026-06-01-2026-06-02.csv"' in ok.headers["content-disposition"]


def test_download_names_are_always_encodable() -> None:
    from vigie.control.schemas import attachment

    header = attachment("fiche-ê\U000901c9.pdf", inline=True)["Content-Disposition"]
    header.encode("latin-1")  # what the server must be able to send
    assert header.startswith('inline; filename="fiche-')
    assert "filename*=UTF-8''fiche-%C3%AA%F2%90%87%89.pdf" in header
