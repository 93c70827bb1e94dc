"""Fonds de concours calculator and participation scenarios."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from vigie.admin import participation as part
from vigie.admin.models import ParticipationScenario
from vigie.admin.subsidy import compute_grant, load_rules, rules_in_force
from vigie.base.clock import paris_today
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.control.admin_schemas import (
    CompareOut,
    GrantOut,
    ParticipationOut,
    ProgrammeOut,
    ScenarioOut,
    ScenarioSavedOut,
)
from vigie.control.api.admin_common import Manager
from vigie.control.deps import AppClock, DbSession
from vigie.control.schemas import PathId, errors, id_list

router = APIRouter(prefix="/api/admin/finance", tags=["admin: finance"], responses=errors(401, 403))


class SubsidyIn(BaseModel):
    eligible_cost: str = Field(description="Eligible expense excluding VAT, euros, as a string.")
    total_cost: str = Field(description="Total cost of the project, euros.")
    other_subsidies: str = Field("0", description="Other subsidies, euros.")
    priority: bool = Field(False, description="Renewal of obsolete equipment.")
    multi_commune: bool = Field(False, description="Project carried by several communes.")
    ceiling: str | None = Field(None, description="Ceiling per project; default: the programme's.")
    date: dt.date | None = Field(None, description="Rules in force at this date; default: today.")


@router.post("/subsidy", response_model=GrantOut, responses=errors(409, 422))
def subsidy(body: SubsidyIn, _p: Manager, clock: AppClock) -> GrantOut:
    rules = rules_in_force(body.date or paris_today(clock))
    grant = compute_grant(
        eligible_cost=body.eligible_cost,
        total_cost=body.total_cost,
        other_subsidies=body.other_subsidies,
        priority=body.priority,
        multi_commune=body.multi_commune,
        rules=rules,
        ceiling=body.ceiling,
    )
    return GrantOut.model_validate(grant.to_dict())


def _money(value: object | None) -> str | None:
    return None if value is None else str(value)


@router.get("/programmes", response_model=list[ProgrammeOut])
def programmes(_p: Manager) -> list[ProgrammeOut]:
    return [
        ProgrammeOut(
            code=r.code,
            label=r.label,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            standard_rate_percent=str(r.standard_rate_percent),
            priority_rate_percent=str(r.priority_rate_percent),
            multi_commune_bonus_points=str(r.multi_commune_bonus_points),
            ceiling_per_project=_money(r.ceiling_per_project),
            ceiling_multi_commune_project=_money(r.ceiling_multi_commune_project),
            source=r.source,
        )
        for r in load_rules()
    ]


@router.post("/participation", response_model=ParticipationOut, responses=errors(422))
def participation(body: dict[str, Any], _p: Manager) -> ParticipationOut:
    """Compute a scenario given inline (the JSON of docs/design/finance.md)."""
    return ParticipationOut.model_validate(part.compute(part.parse_scenario(body)).to_dict())


@router.get("/scenarios", response_model=list[ScenarioOut])
def list_scenarios(_p: Manager, db: DbSession) -> list[ScenarioOut]:
    return [ScenarioOut(id=s.id, name=s.name, spec=s.spec) for s in part.saved_scenarios(db)]


@router.post(
    "/scenarios", response_model=ScenarioSavedOut, status_code=201, responses=errors(409, 422)
)
def save_scenario(body: dict[str, Any], _p: Manager, db: DbSession) -> ScenarioSavedOut:
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
    return ScenarioSavedOut(id=row.id, name=row.name)


IDS = "Saved scenario ids, comma-separated (e.g. 1,2)."


@router.get("/scenarios/compare", response_model=CompareOut, responses=errors(404, 422))
def compare(
    ids: Annotated[str, Query(description=IDS, examples=["1,2"])], _p: Manager, db: DbSession
) -> CompareOut:
    """Side by side: ``ids`` is a comma-separated list of saved scenario ids."""
    results = part.saved_results(db, id_list(ids, field="ids"))
    return CompareOut.model_validate(
        {
            "scenarios": [{"name": r.scenario, "total": str(r.total)} for r in results],
            "communes": [
                {**row, "amounts": [_money(a) for a in row["amounts"]]}  # type: ignore[attr-defined]
                for row in part.compare(results)
            ],
        }
    )


@router.get(
    "/scenarios/{scenario_id}/result", response_model=ParticipationOut, responses=errors(404)
)
def scenario_result(scenario_id: PathId, _p: Manager, db: DbSession) -> ParticipationOut:
    return ParticipationOut.model_validate(part.saved_results(db, [scenario_id])[0].to_dict())
