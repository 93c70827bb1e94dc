"""Money as ``Decimal`` euros: parsing user input, formatting, and sharing a
total among parties to the cent with the largest-remainder rule.

Floats never enter: a float argument is refused, and every amount leaves as a
string with two decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from fractions import Fraction

from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Bounds a yearly budget or a project never reaches; they stop typos like 1e30.
MAX_AMOUNT = Decimal("1000000000000")
NNBSP = "\u202f"
NBSP = "\u00a0"


def parse_amount(value: object, *, field: str, allow_zero: bool = True) -> Decimal:
    """Parse a euro amount (``"1234.5"``, ``"1 234,50"``, ``Decimal``, ``int``).

    Refuses floats, non-numbers, negative values, more than two decimals and
    absurd magnitudes, naming ``field``.
    """
    if isinstance(value, bool | float):
        raise InvalidArgument(t("admin.money.not_a_number", field=field, value=value), field=field)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
        text = text.removesuffix("€")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvalidArgument(
                t("admin.money.not_a_number", field=field, value=value), field=field
            ) from None
    else:
        raise InvalidArgument(t("admin.money.not_a_number", field=field, value=value), field=field)
    if not amount.is_finite():
        raise InvalidArgument(t("admin.money.not_a_number", field=field, value=value), field=field)
    if amount < 0:
        raise InvalidArgument(t("admin.money.negative", field=field, value=value), field=field)
    if amount == 0 and not allow_zero:
        raise InvalidArgument(t("admin.money.zero", field=field), field=field)
    if amount > MAX_AMOUNT:
        raise InvalidArgument(t("admin.money.too_large", field=field, value=value), field=field)
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise InvalidArgument(t("admin.money.cents", field=field, value=value), field=field)
    return amount.quantize(CENT)


def fmt(amount: Decimal) -> str:
    """Two decimals, dot separator, no grouping: the wire format of amounts."""
    return str(amount.quantize(CENT))


def fmt_fr(amount: Decimal) -> str:
    """French display: ``1 234 567,89 €`` (narrow no-break spaces)."""
    whole, _, cents = fmt(amount).partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{NNBSP.join(groups) or '0'},{cents}{NBSP}€"


def fmt_pct(rate: Decimal) -> str:
    """French display of a percentage value: ``40``, ``32,5``."""
    text = format(rate.normalize(), "f")
    return text.replace(".", ",")


def floor_cents(value: Fraction | Decimal) -> Decimal:
    """Round toward zero to the cent (used for caps: never exceed the exact limit)."""
    frac = Fraction(value)
    cents = frac.numerator * 100 // frac.denominator
    return Decimal(cents) / 100


def largest_remainder(
    total: Decimal, weights: Mapping[str, Fraction | Decimal | int]
) -> dict[str, Decimal]:
    """Share ``total`` (a whole number of cents) among ``weights`` to the cent.

    Each party first gets its exact share rounded down to the cent; the cents
    left over go one each to the parties with the largest remainders, ties
    broken by key order (ascending). The result sums exactly to ``total``; each
    share differs from its exact value by less than one cent.
    """
    if total != total.quantize(CENT):
        raise ValueError("total must be a whole number of cents")
    if any(Fraction(w) < 0 for w in weights.values()):
        raise ValueError("weights must be non-negative")
    weight_sum = sum((Fraction(w) for w in weights.values()), Fraction(0))
    total_cents = int(total * 100)
    if not weights:
        if total_cents:
            raise ValueError("nothing to share the total among")
        return {}
    if weight_sum == 0:
        if total_cents:
            raise ValueError("all weights are zero")
        return {k: ZERO for k in weights}
    floors: dict[str, int] = {}
    remainders: list[tuple[Fraction, str]] = []
    for key, w in weights.items():
        exact = Fraction(total_cents) * Fraction(w) / weight_sum
        floors[key] = exact.numerator // exact.denominator
        remainders.append((exact - floors[key], key))
    left = total_cents - sum(floors.values())
    remainders.sort(key=lambda rk: (-rk[0], rk[1]))
    for _rem, key in remainders[:left]:
        floors[key] += 1
    return {k: (Decimal(c) / 100).quantize(CENT) for k, c in floors.items()}
