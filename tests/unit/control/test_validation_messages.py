"""Bad input gets a 4xx naming the field and what to give, in French — in the API's
JSON and on pages (issue 12, item 5)."""

from __future__ import annotations

import html

import pytest
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.control.errors import _VALIDATION, validation_message
from vigie.domain import roles

OVER = 2**63


def test_a_path_id_that_is_not_a_number(admin: ApiClient) -> None:
    r = admin.get("/api/cameras/abc")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "camera_id"
    assert error["message"] == "camera_id : « abc » n'est pas un nombre entier."
    assert error["details"] == [{"field": "camera_id", "message": error["message"]}]


def test_an_id_past_the_database_range_names_the_bound(admin: ApiClient) -> None:
    r = admin.get(f"/api/cameras/{OVER}")
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        f"camera_id : la valeur doit être inférieure ou égale à {OVER - 1}."
    )


def test_a_missing_body_field_and_a_bad_date(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    make_account(session_factory, "superviseur", roles.CMSU_SUPERVISOR)
    api.login("superviseur")
    r = api.post(
        "/api/requisitions",
        json={"officer": "Lt Martin", "service": "SLPJ", "legal_basis": "art. 60 CPP",
              "camera_ids": [1], "start": "hier", "end": "2026-06-01T10:00:00Z",
              "reason": "Réquisition"},
    )  # fmt: skip
    assert r.status_code == 422
    messages = {d["field"]: d["message"] for d in r.json()["error"]["details"]}
    assert messages["procedure_number"] == (
        "procedure_number : valeur manquante ; ce champ est obligatoire."
    )
    assert messages["start"].startswith("start : « hier » n'est pas une date et heure")


def test_a_page_with_bad_input_answers_a_french_page(admin: ApiClient) -> None:
    r = admin.get("/admin/questionnaire/abc/59011", headers={"Accept": "text/html"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "« abc » n'est pas un nombre entier" in html.unescape(r.text)


class _Sample(BaseModel):
    n: int = Field(ge=1, le=10)
    name: str = Field(min_length=2, max_length=4, pattern="^[a-z]+$")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"n": 0, "name": "ab"}, "n : la valeur doit être supérieure ou égale à 1."),
        ({"n": 11, "name": "ab"}, "n : la valeur doit être inférieure ou égale à 10."),
        ({"n": 1, "name": "a"}, "name : trop court ; au moins 2 (caractères ou éléments)."),
        ({"n": 1, "name": "abcde"}, "name : trop long ; au plus 4 (caractères ou éléments)."),
        ({"n": 1, "name": "A1"}, "name : format refusé ; attendu : ^[a-z]+$."),
        ({"n": 1, "name": 5}, "name : une chaîne de caractères est attendue."),
    ],
)
def test_each_kind_of_refusal_reads_in_french(data: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Sample.model_validate(data)
    assert validation_message(caught.value.errors()[0]) == expected


@pytest.mark.parametrize("kind", sorted(_VALIDATION))
def test_every_known_error_type_has_its_message(kind: str) -> None:
    text = validation_message({"type": kind, "loc": ("body", "x"), "msg": "m", "input": "v"})
    assert text and "{" not in text
