"""HTML pages of the admin domain (call for interest and money).

The project team's pages (campaign follow-up, consolidated results, inventory,
participation scenarios, fonds de concours calculator) and the commune
questionnaire. Routes stay thin: figures come from the services in
``vigie.admin``; state changes go through the JSON API, from small scripts
that send the CSRF header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from vigie.admin import catalogue, charts, inventory, survey
from vigie.admin import participation as part
from vigie.admin.money import fmt_fr, fmt_pct
from vigie.admin.subsidy import load_rules
from vigie.base.clock import paris_today
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.control.api.admin_common import (
    MANAGER_ROLES,
    Manager,
    ManagerOrCommune,
    check_commune,
    now,
)
from vigie.control.deps import DbSession, Principal
from vigie.control.pages import render, templates
from vigie.control.schemas import BodyId, PathId
from vigie.storage.db import session_clock
from vigie.storage.models import Commune

router = APIRouter(include_in_schema=False)


def _paris(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return survey.paris_text(instant)


def _integer(value: int) -> str:
    """An integer with French thousands separators (narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


templates.env.filters["euros"] = fmt_fr
templates.env.filters["pct"] = fmt_pct
templates.env.filters["decimal"] = fmt_pct
templates.env.filters["paris"] = _paris
templates.env.filters["integer"] = _integer


def _page(
    request: Request, name: str, principal: Principal, db: Session, *, active: str, **ctx: object
) -> HTMLResponse:
    """Render an admin page with what the layout needs (navigation, who is signed in)."""
    campaigns = survey.list_campaigns(db=db)
    return render(
        request,
        name,
        principal=principal,
        manager=principal.role in MANAGER_ROLES,
        active=active,
        nav_campaign=campaigns[0] if campaigns else None,
        **ctx,
    )


@router.get("/admin", response_model=None)
def admin_index(request: Request, principal: ManagerOrCommune, db: DbSession) -> Response:
    mine = survey.communes_of(db=db, account_id=principal.account_id)
    moment = now(request)
    return _page(
        request,
        "admin/index.html",
        principal,
        db,
        active="home",
        campaigns=survey.list_campaigns(db=db),
        communes=[db.get(Commune, c) for c in mine],
        moment=moment,
    )


@router.get("/admin/questionnaire/{campaign_id}/{commune}", response_model=None)
def questionnaire(
    campaign_id: PathId, commune: str, request: Request, principal: ManagerOrCommune, db: DbSession
) -> Response:
    check_commune(db, principal, commune)
    campaign = survey.get_campaign(db=db, campaign_id=campaign_id)
    row = survey.get_response(db=db, campaign_id=campaign_id, commune=commune)
    state = survey.response_to_dict(row, campaign_id=campaign_id, commune=commune)
    answers = survey.SurveyAnswers.model_validate(state["answers"])
    version = catalogue.ensure_default(db=db)
    moment = now(request)
    return _page(
        request,
        "admin/questionnaire.html",
        principal,
        db,
        active="follow_up" if principal.role in MANAGER_ROLES else "home",
        campaign=campaign,
        commune=db.get(Commune, commune),
        status=state["status"],
        submitted_at=state["submitted_at"],
        answers=answers,
        weekdays=survey.WEEKDAYS,
        services=[(i.code, i.label) for i in version.items],
        deadline=survey.paris_text(campaign.closes_at),
        open=campaign.opens_at <= moment <= campaign.closes_at,
        can_edit=principal.role not in MANAGER_ROLES,
    )


@router.get("/admin/campaigns/{campaign_id}/follow-up", response_model=None)
def follow_up_page(
    campaign_id: PathId, request: Request, principal: Manager, db: DbSession
) -> Response:
    campaign = survey.get_campaign(db=db, campaign_id=campaign_id)
    rows = survey.follow_up(db=db, campaign_id=campaign_id)
    results = survey.results(db=db, campaign_id=campaign_id)
    return _page(
        request,
        "admin/follow_up.html",
        principal,
        db,
        active="follow_up",
        campaign=campaign,
        rows=rows,
        results=results,
        not_started=sum(1 for r in rows if r["status"] == "not_started"),
        deadline=survey.paris_text(campaign.closes_at),
    )


@router.get("/admin/campaigns/{campaign_id}/results", response_model=None)
def results_page(
    campaign_id: PathId, request: Request, principal: Manager, db: DbSession
) -> Response:
    campaign = survey.get_campaign(db=db, campaign_id=campaign_id)
    results = survey.results(db=db, campaign_id=campaign_id)
    version = catalogue.ensure_default(db=db)
    labels = {i.code: i.label for i in version.items}
    hours_chart = charts.column_chart(
        [(t(f"admin.weekday.{d}"), float(h), f"{h} h") for d, h in results.hours_by_weekday.items()]
    )
    services_chart = charts.bar_chart(
        [(labels.get(code, code), float(n), str(n)) for code, n in results.services.items()],
        width=960,
        label_w=470,
    )
    names = {c.insee_code: c.name for c in db.query(Commune)}
    answers = sorted(results.answers.items(), key=lambda kv: names.get(kv[0], kv[0]))
    return _page(
        request,
        "admin/results.html",
        principal,
        db,
        active="results",
        campaign=campaign,
        r=results,
        labels=labels,
        names=names,
        answers=answers,
        interested=survey.is_interested,
        hours_chart=Markup(hours_chart),
        services_chart=Markup(services_chart),
    )


@router.get("/admin/inventory", response_model=None)
def inventory_page(request: Request, principal: Manager, db: DbSession) -> Response:
    rows = list(inventory.summary(db=db, today=paris_today(session_clock(db))).values())
    totals = {
        "cameras": sum(s.cameras for s in rows),
        "obsolete": sum(s.obsolete_cameras for s in rows),
        "age": sum(s.by_flag["age"] for s in rows),
        "analogue": sum(s.by_flag["analogue"] for s in rows),
        "below": sum(s.by_flag["below_legal_minimum"] for s in rows),
        "with_cameras": sum(1 for s in rows if s.cameras),
        "csu": sum(1 for s in rows if s.csu_hours_per_week),
        "recorders": sum(s.recorders for s in rows),
        "links": sum(s.links for s in rows),
        "auth_expired": sum(s.authorisations_expired for s in rows),
        "auth_expiring": sum(s.authorisations_expiring for s in rows),
    }
    return _page(
        request,
        "admin/inventory.html",
        principal,
        db,
        active="inventory",
        rows=rows,
        totals=totals,
        sheets=inventory.SHEETS,
    )


@router.get("/admin/scenarios", response_model=None)
def scenarios_page(request: Request, principal: Manager, db: DbSession) -> Response:
    saved = []
    for row in part.saved_scenarios(db):
        scenario = part.parse_scenario(row.spec)
        saved.append({"id": row.id, "scenario": scenario})
    campaigns = survey.list_campaigns(db=db)
    members = {
        c.id: survey.scenario_members(survey.results(db=db, campaign_id=c.id)) for c in campaigns
    }
    return _page(
        request,
        "admin/scenarios.html",
        principal,
        db,
        active="scenarios",
        saved=saved,
        campaigns=campaigns,
        members=members,
        keys=part.KEYS,
    )


@router.get("/admin/scenarios/compare", response_model=None)
def compare_page(
    request: Request,
    principal: Manager,
    db: DbSession,
    ids: Annotated[list[BodyId], Query()],
) -> Response:
    specs = [part.parse_scenario(part.saved_scenario(db, i).spec) for i in ids]
    results = part.saved_results(db, ids)
    return _page(
        request,
        "admin/compare.html",
        principal,
        db,
        active="scenarios",
        specs=specs,
        results=results,
        rows=part.compare(results),
        keys=part.KEYS,
    )


@router.get("/admin/subsidy", response_model=None)
def subsidy_page(request: Request, principal: Manager, db: DbSession) -> Response:
    return _page(
        request,
        "admin/subsidy.html",
        principal,
        db,
        active="subsidy",
        programmes=load_rules(),
        today=now(request).date().isoformat(),
    )


@router.get("/admin/catalogue", response_model=None)
def catalogue_page(request: Request, principal: Manager, db: DbSession) -> Response:
    """Every version of the service catalogue, the one in force first."""
    catalogue.ensure_default(db=db)
    versions = list(reversed(catalogue.list_versions(db=db)))
    try:
        in_force: int | None = catalogue.version_in_force(db=db, day=now(request).date()).id
    except FailedPrecondition:
        in_force = None
    return _page(
        request,
        "admin/catalogue.html",
        principal,
        db,
        active="catalogue",
        versions=versions,
        in_force=in_force,
    )
