"""The fonds de concours calculator: how much the metropolis may grant a project.

Rates and ceilings are data (``data/fonds_de_concours.json``, programmes with
validity dates), not code. The computation:

1. rate = standard rate, or the priority rate for the renewal of obsolete
   equipment, plus the multi-commune bonus points;
2. base = eligible expense (excl. VAT) × rate, rounded down to the cent;
3. ceiling = the programme's ceiling per project (or an explicit one);
4. legal cap (CGCT L5215-26): the grant F may not exceed what the commune
   finances itself excluding subsidies, F ≤ C − S − F, so F ≤ (C − S) / 2,
   rounded down to the cent;
5. grant = min(base, ceiling, legal cap); ``limited_by`` names the binding
   limit (ties go to ``rate``, then ``ceiling``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Literal

from vigie.admin.money import ZERO, floor_cents, fmt, fmt_fr, fmt_pct, parse_amount
from vigie.base.errors import FailedPrecondition, InvalidArgument
from vigie.base.i18n import t

LimitedBy = Literal["rate", "ceiling", "legal_cap"]


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    """One programme of the fonds de concours, valid over [valid_from, valid_to]."""

    code: str
    label: str
    valid_from: date
    valid_to: date | None
    standard_rate_percent: Decimal
    priority_rate_percent: Decimal
    multi_commune_bonus_points: Decimal
    ceiling_per_project: Decimal | None
    ceiling_multi_commune_project: Decimal | None
    source: str = ""

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _percent(value: object, *, field: str) -> Decimal:
    amount = parse_amount(value, field=field)
    if amount > 100:
        raise InvalidArgument(t("admin.subsidy.rate_above_100", field=field), field=field)
    return amount


def parse_rules(data: dict[str, object], source: str) -> list[ProgrammeRules]:
    programmes = data.get("programmes")
    if not isinstance(programmes, list) or not programmes:
        raise InvalidArgument(t("admin.subsidy.rules_empty", source=source), field="programmes")
    out: list[ProgrammeRules] = []
    for i, p in enumerate(programmes):
        where = f"programmes[{i}]"
        if not isinstance(p, dict):
            raise InvalidArgument(
                t("admin.subsidy.rules_bad", source=source, field=where), field=where
            )
        try:
            ceiling = p.get("ceiling_per_project")
            ceiling_multi = p.get("ceiling_multi_commune_project", ceiling)
            rules = ProgrammeRules(
                code=str(p["code"]),
                label=str(p.get("label", p["code"])),
                valid_from=date.fromisoformat(str(p["valid_from"])),
                valid_to=date.fromisoformat(str(p["valid_to"])) if p.get("valid_to") else None,
                standard_rate_percent=_percent(
                    p["standard_rate_percent"], field=f"{where}.standard_rate_percent"
                ),
                priority_rate_percent=_percent(
                    p["priority_rate_percent"], field=f"{where}.priority_rate_percent"
                ),
                multi_commune_bonus_points=_percent(
                    p.get("multi_commune_bonus_points", "0"),
                    field=f"{where}.multi_commune_bonus_points",
                ),
                ceiling_per_project=None
                if ceiling is None
                else parse_amount(ceiling, field=f"{where}.ceiling_per_project"),
                ceiling_multi_commune_project=None
                if ceiling_multi is None
                else parse_amount(ceiling_multi, field=f"{where}.ceiling_multi_commune_project"),
                source=str(p.get("source", "")),
            )
        except (KeyError, ValueError) as exc:
            raise InvalidArgument(
                t("admin.subsidy.rules_bad", source=source, field=f"{where}: {exc}"), field=where
            ) from exc
        out.append(rules)
    return out


def load_rules(path: Path | None = None) -> list[ProgrammeRules]:
    """The shipped programme rules, or those of ``path`` (same JSON shape)."""
    if path is not None:
        return parse_rules(json.loads(path.read_text(encoding="utf-8")), str(path))
    text = (resources.files("vigie.admin") / "data" / "fonds_de_concours.json").read_text(
        encoding="utf-8"
    )
    return parse_rules(json.loads(text), "fonds_de_concours.json")


def rules_in_force(day: date, programmes: list[ProgrammeRules] | None = None) -> ProgrammeRules:
    for rules in programmes if programmes is not None else load_rules():
        if rules.in_force(day):
            return rules
    raise FailedPrecondition(
        t("admin.subsidy.no_programme", date=day.strftime("%d/%m/%Y")), field="date"
    )


@dataclass(frozen=True, slots=True)
class GrantResult:
    programme: str
    rate_percent: Decimal
    base_amount: Decimal
    ceiling: Decimal | None
    legal_cap: Decimal
    amount: Decimal
    limited_by: LimitedBy
    eligible_cost: Decimal
    total_cost: Decimal
    other_subsidies: Decimal
    steps: list[str] = field(default_factory=list)

    @property
    def commune_share(self) -> Decimal:
        """What the commune finances itself, excluding subsidies."""
        return self.total_cost - self.other_subsidies - self.amount

    def to_dict(self) -> dict[str, object]:
        return {
            "programme": self.programme,
            "eligible_cost": fmt(self.eligible_cost),
            "total_cost": fmt(self.total_cost),
            "other_subsidies": fmt(self.other_subsidies),
            "rate_percent": fmt(self.rate_percent),
            "base_amount": fmt(self.base_amount),
            "ceiling": None if self.ceiling is None else fmt(self.ceiling),
            "legal_cap": fmt(self.legal_cap),
            "amount": fmt(self.amount),
            "limited_by": self.limited_by,
            "commune_share": fmt(self.commune_share),
            "steps": list(self.steps),
        }


def compute_grant(
    *,
    eligible_cost: object,
    total_cost: object,
    other_subsidies: object = "0",
    priority: bool = False,
    multi_commune: bool = False,
    rules: ProgrammeRules,
    ceiling: object | None = None,
) -> GrantResult:
    """Compute the fonds de concours of one project under ``rules``.

    ``ceiling`` overrides the programme's ceiling when given. Amounts are
    parsed with :func:`parse_amount` (strings, ints or Decimals; never floats).
    """
    eligible = parse_amount(eligible_cost, field="eligible_cost")
    total = parse_amount(total_cost, field="total_cost")
    others = parse_amount(other_subsidies, field="other_subsidies")
    if eligible > total:
        raise InvalidArgument(
            t("admin.subsidy.eligible_above_total", eligible=fmt_fr(eligible), total=fmt_fr(total)),
            field="eligible_cost",
        )
    if others > total:
        raise InvalidArgument(
            t("admin.subsidy.others_above_total", others=fmt_fr(others), total=fmt_fr(total)),
            field="other_subsidies",
        )
    if ceiling is not None:
        cap: Decimal | None = parse_amount(ceiling, field="ceiling")
    elif multi_commune:
        cap = rules.ceiling_multi_commune_project
    else:
        cap = rules.ceiling_per_project

    steps = [t("admin.subsidy.step.programme", label=rules.label, code=rules.code)]
    rate = rules.priority_rate_percent if priority else rules.standard_rate_percent
    steps.append(
        t("admin.subsidy.step.rate_priority", rate=fmt_pct(rate))
        if priority
        else t("admin.subsidy.step.rate_standard", rate=fmt_pct(rate))
    )
    if multi_commune:
        rate = min(Decimal(100), rate + rules.multi_commune_bonus_points)
        steps.append(
            t(
                "admin.subsidy.step.bonus",
                points=fmt_pct(rules.multi_commune_bonus_points),
                rate=fmt_pct(rate),
            )
        )
    base = floor_cents(Fraction(eligible) * Fraction(rate) / 100)
    steps.append(
        t(
            "admin.subsidy.step.base",
            eligible=fmt_fr(eligible),
            rate=fmt_pct(rate),
            base=fmt_fr(base),
        )
    )
    if cap is None:
        steps.append(t("admin.subsidy.step.no_ceiling"))
    else:
        steps.append(t("admin.subsidy.step.ceiling", ceiling=fmt_fr(cap)))
    legal_cap = floor_cents(Fraction(total - others) / 2)
    steps.append(
        t(
            "admin.subsidy.step.legal_cap",
            total=fmt_fr(total),
            others=fmt_fr(others),
            cap=fmt_fr(legal_cap),
        )
    )
    amount = min(base, legal_cap) if cap is None else min(base, cap, legal_cap)
    limited_by: LimitedBy
    if amount == base:
        limited_by = "rate"
    elif cap is not None and amount == cap:
        limited_by = "ceiling"
    else:
        limited_by = "legal_cap"
    steps.append(t(f"admin.subsidy.step.result_{limited_by}", amount=fmt_fr(amount)))
    share = total - others - amount
    steps.append(t("admin.subsidy.step.commune_share", share=fmt_fr(share)))
    return GrantResult(
        programme=rules.code,
        rate_percent=rate,
        base_amount=base,
        ceiling=cap,
        legal_cap=legal_cap,
        amount=max(amount, ZERO),
        limited_by=limited_by,
        eligible_cost=eligible,
        total_cost=total,
        other_subsidies=others,
        steps=steps,
    )
