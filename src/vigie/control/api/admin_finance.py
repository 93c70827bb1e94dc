"""Fonds de concours calculator and participation scenarios."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from vigie.admin import participation as part
from vigie.admin.models import ParticipationScenario
from vigie.admin.subsidy import compute_grant, load_rules, rules_in_force
from vigie.base.clock import paris_today
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.control.api.admin_common import Manager
from vigie.control.deps import AppClock, DbSession

router = APIRouter(prefix="/api/admin/finance", tags=["admin: finance"])


class SubsidyIn(BaseModel):
    eligible_cost: str = Field(description="Eligible expense excluding VAT, euros, as a string.")
    total_cost: str = Field(description="Total cost of the project, euros.")
    other_subsidies: str = Field("0", description="Other subsidies, euros.")
    priority: bool = Field(False, description="Renewal of obsolete equipment.")
    multi_commune: bool = Field(False, description="Project carried by several communes.")
    ceiling: str | None = Field(None, description="Ceiling per project; default: the programme's.")
    date: dt.date | None = Field(None, description="Rules in force at this date; default: today.")


@router.post("/subsidy")
def subsidy(body: SubsidyIn, _p: Manager, clock: AppClock) -> dict[str, object]:
    rules = rules_in_force(body.date or paris_today(clock))
    return compute_grant(
        eligible_cost=body.eligible_cost,
        total_cost=body.total_cost,
        other_subsidies=body.other_subsidies,
        priority=body.priority,
        multi_commune=body.multi_commune,
        rules=rules,
        ceiling=body.ceiling,
    ).to_dict()


@router.get("/programmes")
def programmes(_p: Manager) -> list[dict[str, object]]:
    return [
        {
            "code": r.code,
            "label": r.label,
            "valid_from": r.valid_from.isoformat(),
            "valid_to": r.valid_to.isoformat() if r.valid_to else None,
            "standard_rate_percent": str(r.standard_rate_percent),
            "priority_rate_percent": str(r.priority_rate_percent),
            "multi_commune_bonus_points": str(r.multi_commune_bonus_points),
            "ceiling_per_project": None
            if r.ceiling_per_project is None
            else str(r.ceiling_per_project),
            "ceiling_multi_commune_project": None
            if r.ceiling_multi_commune_project is None
            else str(r.ceiling_multi_commune_project),
            "source": r.source,
        }
        for r in load_rules()
    ]


@router.post("/participation")
def participation(body: dict[str, Any], _p: Manager) -> dict[str, object]:
    """Compute a scenario given inline (the JSON of docs/design/finance.md)."""
    return part.compute(part.parse_scenario(body)).to_dict()


@router.get("/scenarios")
def list_scenarios(_p: Manager, db: DbSession) -> list[dict[str, object]]:
    return [{"id": s.id, "name": s.name, "spec": s.spec} for s in part.saved_scenarios(db)]


@router.post("/scenarios", status_code=201)
def save_scenario(body: dict[str, Any], _p: Manager, db: DbSession) -> dict[str, object]:
    scenario = part.parse_scenario(body)  # refuse an invalid scenario before saving it
    part.compute(scenario)
    existing = db.scalar(
        select(ParticipationScenario).where(ParticipationScenario.name == scenario.name)
    )
    if existing is not None:
        raise FailedPrecondition(t("admin.scenario.name_taken", name=scenario.name), field="name")
    row = ParticipationScenario(name=scenario.name, spec=body)
    db.add(row)
    db.flush()
    return {"id": row.id, "name": row.name}


@router.get("/scenarios/compare")
def compare(ids: str, _p: Manager, db: DbSession) -> dict[str, object]:
    """Side by side: ``ids`` is a comma-separated list of saved scenario ids."""
    results = part.saved_results(db, [int(i) for i in ids.split(",") if i.strip()])
    return {
        "scenarios": [{"name": r.scenario, "total": str(r.total)} for r in results],
        "communes": [
            {**row, "amounts": [None if a is None else str(a) for a in row["amounts"]]}  # type: ignore[attr-defined]
            for row in part.compare(results)
        ],
    }


@router.get("/scenarios/{scenario_id}/result")
def scenario_result(scenario_id: int, _p: Manager, db: DbSession) -> dict[str, object]:
    return part.saved_results(db, [scenario_id])[0].to_dict()
