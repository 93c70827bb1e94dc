"""Each member commune's yearly participation in the centre's cost.

A scenario says what cost to cover, which service options are billed to the
communes that take them, and how the rest is shared by keys: a fixed part
(equal shares), per connected camera, per supervised hour per week, per
inhabitant. Everything is computed with exact fractions and brought to the cent
with the largest-remainder rule at two levels — first the cost into
envelopes (options, then keys by their weights), then each envelope among the
communes by their basis — so that every envelope, and the whole, sums exactly
to the cost to cover.

The JSON shape of a scenario is documented in docs/design/finance.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.admin.models import ParticipationScenario
from vigie.admin.money import ZERO, fmt, fmt_fr, largest_remainder, parse_amount
from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.domain.communes import CommuneRecord, load_reference_communes

KEYS = ("fixed", "cameras", "hours", "population")
BASES = (*KEYS,)


@dataclass(frozen=True, slots=True)
class Member:
    insee_code: str
    name: str
    population: int
    cameras: int
    hours_per_week: int
    options: tuple[str, ...] = ()

    def basis(self, key: str) -> int:
        return {
            "fixed": 1,
            "cameras": self.cameras,
            "hours": self.hours_per_week,
            "population": self.population,
        }[key]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    code: str
    label: str
    amount: Decimal
    basis: str = "fixed"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    cost_to_cover: Decimal
    key_weights_percent: dict[str, Decimal]
    options: dict[str, OptionSpec]
    members: list[Member]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    insee_code: str
    name: str
    parts: dict[str, Decimal]
    total: Decimal

    def to_dict(self) -> dict[str, object]:
        return {
            "insee_code": self.insee_code,
            "name": self.name,
            "parts": {k: fmt(v) for k, v in self.parts.items()},
            "amount": fmt(self.total),
        }


@dataclass(frozen=True, slots=True)
class ParticipationResult:
    scenario: str
    cost_to_cover: Decimal
    envelopes: dict[str, Decimal]
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    def by_commune(self) -> dict[str, Line]:
        return {line.insee_code: line for line in self.lines}

    def to_dict(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "cost_to_cover": fmt(self.cost_to_cover),
            "envelopes": {k: fmt(v) for k, v in self.envelopes.items()},
            "communes": [line.to_dict() for line in self.lines],
            "total": fmt(self.total),
            "rounding": "largest_remainder",
        }


def _int(value: object, *, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgument(t("admin.value.not_integer", field=field, value=value), field=field)
    try:
        number = int(value)
    except ValueError:
        raise InvalidArgument(
            t("admin.value.not_integer", field=field, value=value), field=field
        ) from None
    if number < 0 or number > maximum:
        raise InvalidArgument(
            t("admin.value.out_of_range", field=field, low=0, high=maximum), field=field
        )
    return number


def parse_scenario(
    data: Mapping[str, Any], *, reference: Sequence[CommuneRecord] | None = None
) -> Scenario:
    """Validate a scenario (the JSON shape of docs/design/finance.md).

    Communes missing a population get the reference one; unknown INSEE codes
    are refused naming the entry.
    """
    if not isinstance(data, Mapping):
        raise InvalidArgument(t("admin.scenario.not_object"), field="scenario")
    ref = {
        c.insee_code: c for c in (reference if reference is not None else load_reference_communes())
    }
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidArgument(t("admin.value.required", field="name"), field="name")
    if "cost_to_cover" not in data:
        raise InvalidArgument(
            t("admin.value.required", field="cost_to_cover"), field="cost_to_cover"
        )
    cost = parse_amount(data["cost_to_cover"], field="cost_to_cover")

    raw_keys = data.get("keys") or {}
    if not isinstance(raw_keys, Mapping):
        raise InvalidArgument(t("admin.scenario.keys_object", keys=", ".join(KEYS)), field="keys")
    weights: dict[str, Decimal] = {}
    for key, value in raw_keys.items():
        if key not in KEYS:
            raise InvalidArgument(
                t("admin.scenario.unknown_key", key=key, keys=", ".join(KEYS)), field=f"keys.{key}"
            )
        weights[key] = parse_amount(value, field=f"keys.{key}")
    if sum(weights.values(), ZERO) != 100:
        raise InvalidArgument(
            t("admin.scenario.weights_sum", total=fmt(sum(weights.values(), ZERO))), field="keys"
        )

    options: dict[str, OptionSpec] = {}
    raw_options = data.get("options") or {}
    if not isinstance(raw_options, Mapping):
        raise InvalidArgument(t("admin.scenario.options_object"), field="options")
    for code, spec in raw_options.items():
        where = f"options.{code}"
        if not isinstance(spec, Mapping) or "amount" not in spec:
            raise InvalidArgument(
                t("admin.value.required", field=f"{where}.amount"), field=f"{where}.amount"
            )
        basis = str(spec.get("basis", "fixed"))
        if basis not in BASES:
            raise InvalidArgument(
                t("admin.scenario.unknown_key", key=basis, keys=", ".join(BASES)),
                field=f"{where}.basis",
            )
        options[str(code)] = OptionSpec(
            code=str(code),
            label=str(spec.get("label", code)),
            amount=parse_amount(spec["amount"], field=f"{where}.amount"),
            basis=basis,
        )
    options_total = sum((o.amount for o in options.values()), ZERO)
    if options_total > cost:
        raise InvalidArgument(
            t(
                "admin.scenario.options_above_cost",
                options=fmt_fr(options_total),
                cost=fmt_fr(cost),
            ),
            field="options",
        )

    raw_members = data.get("communes")
    if not isinstance(raw_members, list) or not raw_members:
        raise InvalidArgument(t("admin.scenario.no_communes"), field="communes")
    members: list[Member] = []
    seen: set[str] = set()
    for i, m in enumerate(raw_members):
        where = f"communes[{i}]"
        if not isinstance(m, Mapping):
            raise InvalidArgument(t("admin.scenario.not_object"), field=where)
        code = str(m.get("insee_code", "")).strip()
        if code not in ref:
            raise InvalidArgument(
                t("admin.commune.unknown", field=f"{where}.insee_code", code=code),
                field=f"{where}.insee_code",
            )
        if code in seen:
            raise InvalidArgument(
                t("admin.scenario.duplicate", field=f"{where}.insee_code", code=code),
                field=f"{where}.insee_code",
            )
        seen.add(code)
        wanted = m.get("options") or []
        if not isinstance(wanted, list):
            raise InvalidArgument(t("admin.scenario.options_list"), field=f"{where}.options")
        for opt in wanted:
            if opt not in options:
                raise InvalidArgument(
                    t(
                        "admin.scenario.unknown_option",
                        option=opt,
                        options=", ".join(options) or "—",
                    ),
                    field=f"{where}.options",
                )
        population = m.get("population")
        members.append(
            Member(
                insee_code=code,
                name=str(m.get("name") or ref[code].name),
                population=ref[code].population
                if population is None
                else _int(population, field=f"{where}.population", maximum=10_000_000),
                cameras=_int(m.get("cameras", 0), field=f"{where}.cameras", maximum=100_000),
                hours_per_week=_int(
                    m.get("hours_per_week", 0), field=f"{where}.hours_per_week", maximum=168
                ),
                options=tuple(str(o) for o in wanted),
            )
        )
    return Scenario(
        name=name,
        cost_to_cover=cost,
        key_weights_percent=weights,
        options=options,
        members=members,
        description=str(data.get("description") or ""),
    )


def load_scenario(path: Path) -> Scenario:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidArgument(
            t("admin.scenario.unreadable", path=str(path), reason=str(exc)), field="scenario"
        ) from exc
    return parse_scenario(data)


def compute(scenario: Scenario) -> ParticipationResult:
    """Share the scenario's cost among its members; sums exactly to the cent."""
    members = sorted(scenario.members, key=lambda m: m.insee_code)
    envelopes: dict[str, Decimal] = {}
    for code, option in scenario.options.items():
        envelopes[f"option:{code}"] = option.amount
    rest = scenario.cost_to_cover - sum(envelopes.values(), ZERO)
    key_envelopes = largest_remainder(
        rest,
        {
            k: scenario.key_weights_percent.get(k, ZERO)
            for k in KEYS
            if k in scenario.key_weights_percent
        },
    )
    envelopes.update(key_envelopes)

    parts: dict[str, dict[str, Decimal]] = {m.insee_code: {} for m in members}
    for envelope, amount in envelopes.items():
        if envelope.startswith("option:"):
            option = scenario.options[envelope.removeprefix("option:")]
            payers = [m for m in members if option.code in m.options]
            basis = option.basis
            where = f"options.{option.code}"
        else:
            payers = members
            basis = envelope
            where = f"keys.{envelope}"
        weights = {m.insee_code: Fraction(m.basis(basis)) for m in payers}
        if amount > 0 and sum(weights.values()) == 0:
            raise InvalidArgument(
                t("admin.scenario.empty_basis", envelope=where, basis=basis), field=where
            )
        if amount == 0:
            continue
        for code, share in largest_remainder(amount, weights).items():
            parts[code][envelope] = share
    lines = [
        Line(
            insee_code=m.insee_code,
            name=m.name,
            parts=parts[m.insee_code],
            total=sum(parts[m.insee_code].values(), ZERO),
        )
        for m in members
    ]
    return ParticipationResult(
        scenario=scenario.name,
        cost_to_cover=scenario.cost_to_cover,
        envelopes=envelopes,
        lines=lines,
    )


def compare(results: Sequence[ParticipationResult]) -> list[dict[str, object]]:
    """Side-by-side rows: one per commune present in any result, amounts per scenario."""
    names: dict[str, str] = {}
    for r in results:
        for line in r.lines:
            names.setdefault(line.insee_code, line.name)
    rows: list[dict[str, object]] = []
    for code in sorted(names, key=lambda c: names[c]):
        amounts = [r.by_commune().get(code) for r in results]
        rows.append(
            {
                "insee_code": code,
                "name": names[code],
                "amounts": [None if a is None else a.total for a in amounts],
            }
        )
    return rows


# ---------------------------------------------------------------- saved scenarios


def saved_scenarios(db: Session) -> list[ParticipationScenario]:
    return list(db.scalars(select(ParticipationScenario).order_by(ParticipationScenario.name)))


def saved_scenario(db: Session, scenario_id: int) -> ParticipationScenario:
    row = db.get(ParticipationScenario, scenario_id)
    if row is None:
        raise NotFound(t("admin.scenario.not_found", id=scenario_id))
    return row


def saved_results(db: Session, ids: Sequence[int]) -> list[ParticipationResult]:
    """Compute saved scenarios, in the order of ``ids``."""
    return [compute(parse_scenario(saved_scenario(db, i).spec)) for i in ids]
