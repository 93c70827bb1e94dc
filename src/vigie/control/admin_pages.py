"""HTML pages of the admin domain: the French questionnaire form of a commune
and the project team's index (campaigns, follow-up, reports)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vigie.admin import catalogue, survey
from vigie.control.api.admin_common import MANAGER_ROLES, ManagerOrCommune, check_commune, now
from vigie.control.deps import SESSION_COOKIE, DbSession
from vigie.control.pages import render
from vigie.storage.models import Commune

router = APIRouter(include_in_schema=False)


@router.get("/admin/questionnaire/{campaign_id}/{commune}", response_model=None)
def questionnaire(
    campaign_id: int, commune: str, request: Request, principal: ManagerOrCommune, db: DbSession
) -> Response:
    check_commune(db, principal, commune)
    campaign = survey.get_campaign(db=db, campaign_id=campaign_id)
    row = survey.get_response(db=db, campaign_id=campaign_id, commune=commune)
    state = survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)
    answers = survey.SurveyAnswers.model_validate(state["answers"])
    version = catalogue.ensure_default(db=db)
    moment = now(request)
    return render(
        request,
        "admin/questionnaire.html",
        campaign=campaign,
        commune=db.get(Commune, commune),
        status=state["status"],
        answers=answers,
        weekdays=survey.WEEKDAYS,
        services=[(i.code, i.label) for i in version.items],
        deadline=survey.paris_text(campaign.closes_at),
        open=campaign.opens_at <= moment <= campaign.closes_at,
        can_edit=principal.role not in MANAGER_ROLES,
    )


@router.get("/admin", response_model=None)
def admin_index(request: Request, principal: ManagerOrCommune, db: DbSession) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/admin")
    mine = survey.communes_of(db=db, account_id=principal.account_id)
    page: HTMLResponse = render(
        request,
        "admin/index.html",
        campaigns=survey.list_campaigns(db=db),
        manager=principal.role in MANAGER_ROLES,
        communes=[db.get(Commune, c) for c in mine],
        paris_text=survey.paris_text,
    )
    return page
