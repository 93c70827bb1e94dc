from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigie.admin.participation import KEYS, compare, compute, parse_scenario
from vigie.base.errors import InvalidArgument
from vigie.domain.communes import load_reference_communes

REF = load_reference_communes()
CODES = sorted(c.insee_code for c in REF)


def test_worked_example_by_hand() -> None:
    # Cost 10 000.00: option h24 3 000.00 for the two communes taking it (equal
    # shares), the remaining 7 000.00 split 50 % fixed, 50 % per camera.
    # fixed 3 500.00 / 3 = 1 166.666… → 1 166.67, 1 166.67, 1 166.66 (largest
    # remainder, ties by INSEE code); cameras 3 500.00 × (1, 2, 4) / 7 = 500, 1 000, 2 000.
    s = parse_scenario(
        {
            "name": "exemple",
            "cost_to_cover": "10000.00",
            "keys": {"fixed": "50", "cameras": "50"},
            "options": {"h24": {"label": "24/7", "amount": "3000.00"}},
            "communes": [
                {"insee_code": "59350", "cameras": 4, "options": ["h24"]},
                {"insee_code": "59009", "cameras": 2},
                {"insee_code": "59005", "cameras": 1, "options": ["h24"]},
            ],
        },
        reference=REF,
    )
    r = compute(s)
    got = {line.insee_code: line.total for line in r.lines}
    assert got == {
        "59005": Decimal("1500.00") + Decimal("1166.67") + Decimal("500.00"),
        "59009": Decimal("1166.67") + Decimal("1000.00"),
        "59350": Decimal("1500.00") + Decimal("1166.66") + Decimal("2000.00"),
    }
    assert r.total == Decimal("10000.00")
    assert r.to_dict()["total"] == "10000.00"


def test_population_defaults_to_reference() -> None:
    s = parse_scenario(
        {"name": "p", "cost_to_cover": "1195.00", "keys": {"population": "100"},
         "communes": [{"insee_code": c} for c in CODES]},
        reference=REF,
    )  # fmt: skip
    r = compute(s)
    assert r.total == Decimal("1195.00")
    lille = r.by_commune()["59350"]
    assert lille.name == "Lille" and lille.total > r.by_commune()["59005"].total


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"communes": [{"insee_code": "99999"}]}, "communes[0].insee_code"),
        ({"cost_to_cover": "-5"}, "cost_to_cover"),
        ({"cost_to_cover": "abc"}, "cost_to_cover"),
        ({"keys": {"fixed": "60"}}, "keys"),
        ({"keys": {"fixed": "50", "bananas": "50"}}, "keys.bananas"),
        ({"communes": [{"insee_code": "59350", "cameras": -1}]}, "communes[0].cameras"),
        (
            {"communes": [{"insee_code": "59350", "hours_per_week": 200}]},
            "communes[0].hours_per_week",
        ),
        ({"communes": []}, "communes"),
        ({"options": {"h24": {"amount": "999999"}}}, "options"),
        ({"communes": [{"insee_code": "59350", "options": ["nope"]}]}, "communes[0].options"),
    ],
)
def test_bad_scenarios_are_refused_naming_the_field(patch: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {
        "name": "x", "cost_to_cover": "1000.00", "keys": {"fixed": "100"},
        "communes": [{"insee_code": "59350"}],
    }  # fmt: skip
    with pytest.raises(InvalidArgument) as exc:
        parse_scenario(base | patch, reference=REF)
    assert exc.value.field == field


def test_key_with_empty_basis_is_refused() -> None:
    s = parse_scenario(
        {
            "name": "x",
            "cost_to_cover": "100.00",
            "keys": {"cameras": "100"},
            "communes": [{"insee_code": "59350"}],
        },
        reference=REF,
    )
    with pytest.raises(InvalidArgument) as exc:
        compute(s)
    assert exc.value.field == "keys.cameras"


def test_compare_side_by_side() -> None:
    spec: dict[str, Any] = {
        "name": "a", "cost_to_cover": "100.00", "keys": {"fixed": "100"},
        "communes": [{"insee_code": "59350"}, {"insee_code": "59009"}],
    }  # fmt: skip
    a = compute(parse_scenario(spec, reference=REF))
    b = compute(
        parse_scenario(spec | {"name": "b", "communes": [{"insee_code": "59350"}]}, reference=REF)
    )
    rows = {row["insee_code"]: row["amounts"] for row in compare([a, b])}
    assert rows["59350"] == [Decimal("50.00"), Decimal("100.00")]
    assert rows["59009"] == [Decimal("50.00"), None]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=95, unique=True))
    raw = draw(st.lists(st.integers(0, 100), min_size=len(KEYS), max_size=len(KEYS)))
    if sum(raw) == 0:
        raw[0] = 1
    # Integer percentages summing to exactly 100 (largest share takes the slack).
    pct = [r * 100 // sum(raw) for r in raw]
    pct[raw.index(max(raw))] += 100 - sum(pct)
    cost_cents = draw(st.integers(0, 10**10))
    option_cents = draw(st.integers(0, cost_cents))
    members = []
    for code in codes:
        members.append(
            {
                "insee_code": code,
                "cameras": draw(st.integers(1, 500)),
                "hours_per_week": draw(st.integers(1, 168)),
                "options": draw(st.sampled_from([[], ["h24"]])),
            }
        )
    if not any(m["options"] for m in members):
        members[0]["options"] = ["h24"]
    return {
        "name": "prop",
        "cost_to_cover": str(Decimal(cost_cents) / 100),
        "keys": {k: str(p) for k, p in zip(KEYS, pct, strict=True) if p},
        "options": {
            "h24": {
                "amount": str(Decimal(option_cents) / 100),
                "basis": draw(st.sampled_from(KEYS)),
            }
        },
        "communes": members,
    }


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_participations_always_sum_to_the_cost_to_the_cent(spec: dict[str, Any]) -> None:
    r = compute(parse_scenario(spec, reference=REF))
    assert r.total == Decimal(spec["cost_to_cover"])
    assert sum(r.envelopes.values()) == Decimal(spec["cost_to_cover"])
    for line in r.lines:
        assert line.total >= 0
        assert line.total == line.total.quantize(Decimal("0.01"))
        assert sum(line.parts.values()) == line.total
    for envelope, amount in r.envelopes.items():
        assert sum(line.parts.get(envelope, Decimal(0)) for line in r.lines) == amount
