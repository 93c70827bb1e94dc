from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigie.admin.money import fmt, fmt_fr, largest_remainder, parse_amount
from vigie.base.errors import InvalidArgument


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.50"),
        ("1 234,50", "1234.50"),
        ("0", "0.00"),
        ("12 500 €", "12500.00"),
        (7, "7.00"),
    ],
)
def test_parse_amount_accepts_french_and_plain_forms(text: object, expected: str) -> None:
    assert fmt(parse_amount(text, field="x")) == expected


@pytest.mark.parametrize("bad", ["-1", "abc", "1.234", "NaN", "Infinity", 1.5, True, None, "1e20"])
def test_parse_amount_refuses_bad_input_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidArgument) as exc:
        parse_amount(bad, field="eligible_cost")
    assert exc.value.field == "eligible_cost"
    assert "eligible_cost" in exc.value.message


def test_fmt_fr() -> None:
    assert fmt_fr(Decimal("1234567.8")) == "1\u202f234\u202f567,80\u00a0€"
    assert fmt_fr(Decimal("0")) == "0,00\u00a0€"


def test_largest_remainder_worked_example() -> None:
    # 100.00 among three equal parties: 33.33 each, one cent left, goes to the first key.
    assert largest_remainder(Decimal("100.00"), {"b": 1, "a": 1, "c": 1}) == {
        "a": Decimal("33.34"),
        "b": Decimal("33.33"),
        "c": Decimal("33.33"),
    }
    # Remainders 0.4, 0.3, 0.3 cents (weights 2:3:5 of 0.10): exact shares 0.02, 0.03, 0.05.
    assert largest_remainder(Decimal("0.10"), {"x": 2, "y": 3, "z": 5}) == {
        "x": Decimal("0.02"),
        "y": Decimal("0.03"),
        "z": Decimal("0.05"),
    }
    # 1.00 by 1:1:1:1:1:1:1 (7 parties): 14 cents each, 2 left to "a" and "b".
    out = largest_remainder(Decimal("1.00"), {k: 1 for k in "gfedcba"})
    assert out["a"] == out["b"] == Decimal("0.15")
    assert all(out[k] == Decimal("0.14") for k in "cdefg")


cents = st.integers(min_value=0, max_value=10**11).map(lambda c: Decimal(c) / 100)
weights = st.dictionaries(
    st.text(alphabet="0123456789", min_size=5, max_size=5),
    st.integers(min_value=0, max_value=10**7),
    min_size=1,
    max_size=40,
).filter(lambda w: sum(w.values()) > 0)


@given(cents, weights)
def test_largest_remainder_sums_exactly_and_stays_within_a_cent(
    total: Decimal, w: dict[str, int]
) -> None:
    out = largest_remainder(total, w)
    assert sum(out.values()) == total
    weight_sum = sum(w.values())
    for key, share in out.items():
        exact = Fraction(total) * w[key] / weight_sum
        assert abs(Fraction(share) - exact) < Fraction(1, 100)
        assert share >= 0
        assert share == share.quantize(Decimal("0.01"))
