"""Questionnaire campaigns: the project team opens them and follows answers;
each commune authority fills its own commune's questionnaire."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vigie.admin import survey
from vigie.admin.models import SurveyResponse
from vigie.control.admin_schemas import (
    CampaignOut,
    FollowUpOut,
    SurveyResponseOut,
    SurveyResultsOut,
)
from vigie.control.api.admin_common import (
    CommuneAuthority,
    Manager,
    ManagerOrCommune,
    check_commune,
    now,
)
from vigie.control.deps import CurrentPrincipal, DbSession
from vigie.control.schemas import PathId, errors

router = APIRouter(prefix="/api/admin/surveys", tags=["admin: surveys"], responses=errors(401, 403))


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    opens_on: date = Field(description="First day, Europe/Paris (opens at 00:00).")
    closes_on: date = Field(description="Last day, Europe/Paris (closes at 23:59:59).")


class SubmitIn(BaseModel):
    answers: dict[str, Any] | None = Field(
        None, description="Answers; omitted: submit the saved draft."
    )


def _response(row: SurveyResponse | None, *, campaign_id: int, commune: str) -> SurveyResponseOut:
    return SurveyResponseOut.model_validate(
        survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)
    )


@router.post("/campaigns", response_model=CampaignOut, status_code=201, responses=errors(409, 422))
def create_campaign(body: CampaignIn, _p: Manager, db: DbSession) -> CampaignOut:
    c = survey.create_campaign(
        db=db, name=body.name, opens_on=body.opens_on, closes_on=body.closes_on
    )
    return CampaignOut.model_validate(survey.campaign_to_dict(c))


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(_p: CurrentPrincipal, db: DbSession) -> list[CampaignOut]:
    return [
        CampaignOut.model_validate(survey.campaign_to_dict(c)) for c in survey.list_campaigns(db=db)
    ]


@router.get(
    "/campaigns/{campaign_id}/follow-up", response_model=list[FollowUpOut], responses=errors(404)
)
def follow_up(campaign_id: PathId, _p: Manager, db: DbSession) -> list[FollowUpOut]:
    return [FollowUpOut.model_validate(r) for r in survey.follow_up(db=db, campaign_id=campaign_id)]


@router.get(
    "/campaigns/{campaign_id}/results", response_model=SurveyResultsOut, responses=errors(404)
)
def results(campaign_id: PathId, _p: Manager, db: DbSession) -> SurveyResultsOut:
    return SurveyResultsOut.model_validate(survey.results(db=db, campaign_id=campaign_id).to_dict())


@router.get(
    "/campaigns/{campaign_id}/responses/{commune}",
    response_model=SurveyResponseOut,
    responses=errors(404, 422),
)
def get_response(
    campaign_id: PathId, commune: str, principal: ManagerOrCommune, db: DbSession
) -> SurveyResponseOut:
    check_commune(db, principal, commune)
    row = survey.get_response(db=db, campaign_id=campaign_id, commune=commune)
    return _response(row, campaign_id=campaign_id, commune=commune)


@router.put(
    "/campaigns/{campaign_id}/responses/{commune}/draft",
    response_model=SurveyResponseOut,
    responses=errors(404, 409, 422),
)
def save_draft(
    campaign_id: PathId,
    commune: str,
    answers: dict[str, Any],
    request: Request,
    principal: CommuneAuthority,
    db: DbSession,
) -> SurveyResponseOut:
    check_commune(db, principal, commune)
    row = survey.save_draft(
        db=db, campaign_id=campaign_id, commune=commune, answers=answers,
        account_id=principal.account_id, now=now(request),
    )  # fmt: skip
    return _response(row, campaign_id=campaign_id, commune=commune)


@router.post(
    "/campaigns/{campaign_id}/responses/{commune}/submit",
    response_model=SurveyResponseOut,
    responses=errors(404, 409, 422),
)
def submit(
    campaign_id: PathId,
    commune: str,
    body: SubmitIn,
    request: Request,
    principal: CommuneAuthority,
    db: DbSession,
) -> SurveyResponseOut:
    check_commune(db, principal, commune)
    row = survey.submit(
        db=db, campaign_id=campaign_id, commune=commune, answers=body.answers,
        account_id=principal.account_id, now=now(request),
    )  # fmt: skip
    return _response(row, campaign_id=campaign_id, commune=commune)
