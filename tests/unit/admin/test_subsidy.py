from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigie.admin.subsidy import ProgrammeRules, compute_grant, load_rules, rules_in_force
from vigie.base.errors import FailedPrecondition, InvalidArgument

AMI = rules_in_force(date(2025, 3, 1))


def test_rules_in_force_follow_their_dates() -> None:
    assert AMI.code == "mel-fdc-csu-2025"
    assert AMI.standard_rate_percent == 30 and AMI.priority_rate_percent == 40
    assert AMI.multi_commune_bonus_points == 10
    assert rules_in_force(date(2023, 6, 1)).code == "mel-fdc-video-2021"
    with pytest.raises(FailedPrecondition):
        rules_in_force(date(2019, 1, 1))


# Worked by hand from the rules (domain.md §4).
def test_standard_project_limited_by_rate() -> None:
    # 30 % of 50 000 = 15 000; legal cap (60 000 − 0) / 2 = 30 000; ceiling 150 000.
    r = compute_grant(eligible_cost="50000", total_cost="60000", rules=AMI)
    assert (r.rate_percent, r.base_amount, r.legal_cap, r.amount, r.limited_by) == (
        Decimal("30"), Decimal("15000.00"), Decimal("30000.00"), Decimal("15000.00"), "rate"
    )  # fmt: skip


def test_priority_multi_commune_limited_by_legal_cap() -> None:
    # 40 % + 10 pts = 50 % of 100 000 = 50 000; region gave 30 000 on 120 000 →
    # legal cap (120 000 − 30 000) / 2 = 45 000 < 50 000.
    r = compute_grant(
        eligible_cost="100000", total_cost="120000", other_subsidies="30000",
        priority=True, multi_commune=True, rules=AMI,
    )  # fmt: skip
    assert r.rate_percent == 50
    assert r.base_amount == Decimal("50000.00")
    assert r.legal_cap == Decimal("45000.00")
    assert r.amount == Decimal("45000.00") and r.limited_by == "legal_cap"
    assert r.commune_share == Decimal("45000.00")  # F equals the commune's own share
    assert any("L5215-26" in s for s in r.steps)


def test_large_priority_project_limited_by_ceiling() -> None:
    # 40 % of 600 000 = 240 000 > ceiling 150 000; legal cap 350 000.
    r = compute_grant(eligible_cost="600000", total_cost="700000", priority=True, rules=AMI)
    assert r.amount == Decimal("150000.00") and r.limited_by == "ceiling"


def test_explicit_ceiling_overrides_programme() -> None:
    r = compute_grant(eligible_cost="100000", total_cost="100000", rules=AMI, ceiling="20000")
    assert (
        r.ceiling == Decimal("20000.00")
        and r.amount == Decimal("20000.00")
        and r.limited_by == "ceiling"
    )


def test_odd_cents_round_down() -> None:
    # 30 % of 333.33 = 99.999 → 99.99; legal cap 333.33 / 2 = 166.665 → 166.66.
    r = compute_grant(eligible_cost="333.33", total_cost="333.33", rules=AMI)
    assert r.base_amount == Decimal("99.99")
    assert r.legal_cap == Decimal("166.66")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"eligible_cost": "-1", "total_cost": "10"}, "eligible_cost"),
        ({"eligible_cost": "abc", "total_cost": "10"}, "eligible_cost"),
        ({"eligible_cost": "1", "total_cost": "x"}, "total_cost"),
        ({"eligible_cost": "5", "total_cost": "10", "other_subsidies": "11"}, "other_subsidies"),
        ({"eligible_cost": "11", "total_cost": "10"}, "eligible_cost"),
        ({"eligible_cost": "5", "total_cost": "10", "ceiling": "-3"}, "ceiling"),
        ({"eligible_cost": 5.0, "total_cost": "10"}, "eligible_cost"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        compute_grant(rules=AMI, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_rules_are_data(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"programmes": [{
        "code": "test", "valid_from": "2030-01-01", "valid_to": None, "standard_rate_percent": "25",
        "priority_rate_percent": "35", "multi_commune_bonus_points": "5", "ceiling_per_project": None,
    }]}))  # fmt: skip
    rules = rules_in_force(date(2031, 1, 1), load_rules(path))
    r = compute_grant(
        eligible_cost="1000", total_cost="1000", priority=True, multi_commune=True, rules=rules
    )
    assert r.rate_percent == 40 and r.ceiling is None and r.amount == Decimal("400.00")


amounts = st.integers(min_value=0, max_value=10**10).map(lambda c: Decimal(c) / 100)
programmes = st.builds(
    ProgrammeRules,
    code=st.just("p"),
    label=st.just("p"),
    valid_from=st.just(date(2000, 1, 1)),
    valid_to=st.none(),
    standard_rate_percent=st.integers(0, 100).map(Decimal),
    priority_rate_percent=st.integers(0, 100).map(Decimal),
    multi_commune_bonus_points=st.integers(0, 30).map(Decimal),
    ceiling_per_project=st.none() | amounts,
    ceiling_multi_commune_project=st.none() | amounts,
)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, object]:
    total = draw(amounts)
    eligible = draw(st.integers(0, int(total * 100)).map(lambda c: Decimal(c) / 100))
    others = draw(st.integers(0, int(total * 100)).map(lambda c: Decimal(c) / 100))
    return {
        "eligible_cost": eligible,
        "total_cost": total,
        "other_subsidies": others,
        "priority": draw(st.booleans()),
        "multi_commune": draw(st.booleans()),
    }


@given(projects(), programmes)
def test_grant_never_exceeds_any_limit(project: dict[str, object], rules: ProgrammeRules) -> None:
    r = compute_grant(rules=rules, **project)  # type: ignore[arg-type]
    total, others = r.total_cost, r.other_subsidies
    assert Decimal(0) <= r.amount <= r.base_amount
    assert r.amount <= r.legal_cap
    assert r.ceiling is None or r.amount <= r.ceiling
    # CGCT L5215-26: F ≤ C − S − F, the commune's own share excluding subsidies.
    assert r.amount <= total - others - r.amount
    assert r.amount * 100 <= r.eligible_cost * r.rate_percent
    assert (
        r.amount
        == {"rate": r.base_amount, "ceiling": r.ceiling, "legal_cap": r.legal_cap}[r.limited_by]
    )


@given(projects(), programmes, st.integers(min_value=1, max_value=10**9))
def test_more_eligible_expense_never_lowers_the_grant(
    project: dict[str, object], rules: ProgrammeRules, extra_cents: int
) -> None:
    low = compute_grant(rules=rules, **project)  # type: ignore[arg-type]
    more = Decimal(extra_cents) / 100
    bigger = dict(project, eligible_cost=low.eligible_cost + more, total_cost=low.total_cost + more)
    high = compute_grant(rules=rules, **bigger)  # type: ignore[arg-type]
    assert high.amount >= low.amount
    # And with the total cost unchanged, where the larger eligible expense still fits.
    if low.eligible_cost + more <= low.total_cost:
        same_total = dict(project, eligible_cost=low.eligible_cost + more)
        assert compute_grant(rules=rules, **same_total).amount >= low.amount  # type: ignore[arg-type]
