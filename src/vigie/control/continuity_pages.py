"""French pages of the continuity domain: the alarm queue, the 24/7
coverage plan (weekly SVG chart per commune, metropolitan view) and the
settings (notification contacts, per-camera image checks)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from vigie.base.i18n import t
from vigie.continuity.models import Alarm
from vigie.control.api.continuity import (
    Supervisor,
    _alarm_out,
    _communes_in_scope,
    coverage_of,
    metropolitan,
)
from vigie.control.deps import DbSession
from vigie.control.pages import render
from vigie.domain import roles
from vigie.domain.alarms import SEVERITIES
from vigie.domain.imagecheck import Thresholds
from vigie.domain.schedule import PARIS, WEEKDAY_NAMES_FR
from vigie.storage.db import session_now
from vigie.storage.models import Camera, Commune

router = APIRouter(include_in_schema=False)

COLOURS = {"csu": "#2e7d32", "centre": "#1565c0", "both": "#00838f", "none": "#c62828"}


def _paris(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


@router.get("/alarmes")
def alarms_page(request: Request, db: DbSession, principal: Supervisor) -> HTMLResponse:
    query = select(Alarm).order_by(Alarm.is_open.desc(), Alarm.raised_at.desc()).limit(200)
    scope = _communes_in_scope(db, principal)
    if scope is not None:
        query = query.where(Alarm.commune_insee.in_(scope))
    rows = [_alarm_out(a) for a in db.scalars(query)]
    return render(
        request,
        "continuity/alarms.html",
        alarms=rows,
        paris=_paris,
        severity=lambda s: t(f"continuity.severity.{s}"),
    )


@router.get("/couverture")
def coverage_page(
    request: Request,
    db: DbSession,
    _p: Supervisor,
    commune: str | None = None,
    week: str | None = None,
) -> HTMLResponse:
    view = metropolitan(db, session_now(db))
    chart = None
    if commune:
        cov = coverage_of(db, commune, week)
        # One row per local day, one cell per half-hour slot, coloured by who covers.
        cells = []
        for slot in cov["slots"]:
            local = datetime.fromisoformat(slot["start"]).astimezone(PARIS)
            x = (local.hour * 60 + local.minute) // 30
            cells.append(
                (
                    x,
                    local.weekday(),
                    COLOURS[slot["who"]],
                    f"{WEEKDAY_NAMES_FR[local.weekday()]} {local:%H:%M}",
                )
            )
        chart = {
            **cov,
            "cells": cells,
            "uncovered_local": [(_paris(g["start"]), _paris(g["end"])) for g in cov["uncovered"]],
            "next_week": (datetime.fromisoformat(cov["week"]) + timedelta(days=7))
            .date()
            .isoformat(),
            "prev_week": (datetime.fromisoformat(cov["week"]) - timedelta(days=7))
            .date()
            .isoformat(),
        }
    return render(
        request,
        "continuity/coverage.html",
        view=view,
        chart=chart,
        days=WEEKDAY_NAMES_FR,
        colours=COLOURS,
        who=lambda w: t(f"continuity.coverage.{w}"),
    )


@router.get("/continuite/reglages")
def settings_page(request: Request, db: DbSession, principal: Supervisor) -> HTMLResponse:
    """Contacts (the administrator's; others are refused like on the admin
    pages) and per-camera image checks: the cameras of the account's scope,
    edited by the administrator, new reference picture for any supervisor."""
    scope = _communes_in_scope(db, principal)
    query = select(Camera).order_by(Camera.commune_insee, Camera.name)
    if scope is not None:
        query = query.where(Camera.commune_insee.in_(scope))
    cameras = list(db.scalars(query))
    names = {c.insee_code: c.name for c in db.scalars(select(Commune))}
    admin = principal.role == roles.METRO_ADMIN
    return render(
        request,
        "continuity/settings.html",
        admin=admin,
        cameras=cameras,
        communes=sorted(names.items(), key=lambda kv: kv[1]) if admin else [],
        commune_name=lambda code: names.get(code, code),
        severities=SEVERITIES,
        thresholds=list(Thresholds.__dataclass_fields__),
    )
