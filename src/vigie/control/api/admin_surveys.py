"""Questionnaire campaigns: the project team opens them and follows answers;
each commune authority fills its own commune's questionnaire."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vigie.admin import survey
from vigie.control.api.admin_common import (
    CommuneAuthority,
    Manager,
    ManagerOrCommune,
    check_commune,
    now,
)
from vigie.control.deps import CurrentPrincipal, DbSession

router = APIRouter(prefix="/api/admin/surveys", tags=["admin: surveys"])


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    opens_on: date = Field(description="First day, Europe/Paris (opens at 00:00).")
    closes_on: date = Field(description="Last day, Europe/Paris (closes at 23:59:59).")


class SubmitIn(BaseModel):
    answers: dict[str, Any] | None = Field(
        None, description="Answers; omitted: submit the saved draft."
    )


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, _p: Manager, db: DbSession) -> dict[str, object]:
    c = survey.create_campaign(
        db=db, name=body.name, opens_on=body.opens_on, closes_on=body.closes_on
    )
    return survey.campaign_to_dict(c)


@router.get("/campaigns")
def list_campaigns(_p: CurrentPrincipal, db: DbSession) -> list[dict[str, object]]:
    return [survey.campaign_to_dict(c) for c in survey.list_campaigns(db=db)]


@router.get("/campaigns/{campaign_id}/follow-up")
def follow_up(campaign_id: int, _p: Manager, db: DbSession) -> list[dict[str, object]]:
    return survey.follow_up(db=db, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/results")
def results(campaign_id: int, _p: Manager, db: DbSession) -> dict[str, object]:
    return survey.results(db=db, campaign_id=campaign_id).to_dict()


@router.get("/campaigns/{campaign_id}/responses/{commune}")
def get_response(
    campaign_id: int, commune: str, principal: ManagerOrCommune, db: DbSession
) -> dict[str, object]:
    check_commune(db, principal, commune)
    row = survey.get_response(db=db, campaign_id=campaign_id, commune=commune)
    return survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)


@router.put("/campaigns/{campaign_id}/responses/{commune}/draft")
def save_draft(
    campaign_id: int,
    commune: str,
    answers: dict[str, Any],
    request: Request,
    principal: CommuneAuthority,
    db: DbSession,
) -> dict[str, object]:
    check_commune(db, principal, commune)
    row = survey.save_draft(
        db=db, campaign_id=campaign_id, commune=commune, answers=answers,
        account_id=principal.account_id, now=now(request),
    )  # fmt: skip
    return survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)


@router.post("/campaigns/{campaign_id}/responses/{commune}/submit")
def submit(
    campaign_id: int,
    commune: str,
    body: SubmitIn,
    request: Request,
    principal: CommuneAuthority,
    db: DbSession,
) -> dict[str, object]:
    check_commune(db, principal, commune)
    row = survey.submit(
        db=db, campaign_id=campaign_id, commune=commune, answers=body.answers,
        account_id=principal.account_id, now=now(request),
    )  # fmt: skip
    return survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)
