"""Printable reports: the metropolitan synthesis and a sheet per commune, HTML or PDF."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from vigie.admin import participation as part
from vigie.admin import reports
from vigie.base.clock import paris_today
from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t
from vigie.control.api.admin_common import Manager, ManagerOrCommune, check_commune
from vigie.control.deps import DbSession
from vigie.control.schemas import QueryId, attachment, errors, file_response
from vigie.control.security_headers import CSP, content_security_policy, style_hashes
from vigie.storage.db import session_clock

router = APIRouter(prefix="/api/admin/reports", tags=["admin: reports"], responses=errors(401, 403))
Format = Literal["html", "pdf"]
REPORT = file_response("text/html", "application/pdf", description="The report, HTML or PDF.")


def _data(
    db: Session, campaign_id: int | None, scenario_id: int | None, day: date | None
) -> reports.ReportData:
    result = None if scenario_id is None else part.saved_results(db, [scenario_id])[0]
    return reports.gather(
        db=db,
        today=day or paris_today(session_clock(db)),
        campaign_id=campaign_id,
        participation=result,
    )


async def _out(html: str, fmt: str, filename: str) -> Response:
    if fmt == "html":  # a self-contained document: its inline style sheet allowed by hash
        return HTMLResponse(
            html, headers={CSP: content_security_policy(style_hashes=style_hashes(html))}
        )
    if fmt != "pdf":
        raise InvalidArgument(t("admin.report.format"), field="format")
    pdf = await asyncio.to_thread(reports.render_pdf, html)  # never block the event loop
    return Response(
        pdf,
        media_type="application/pdf",
        headers=attachment(f"{filename}.pdf", inline=True),
    )


@router.get("/synthesis.{fmt}", response_class=Response, responses=REPORT | errors(404, 409, 422))
async def synthesis(
    fmt: Format, _p: Manager, db: DbSession,
    campaign_id: QueryId | None = None, scenario_id: QueryId | None = None, day: date | None = None,
) -> Response:  # fmt: skip
    html = reports.synthesis_html(_data(db, campaign_id, scenario_id, day))
    return await _out(html, fmt, "synthese-metropolitaine")


@router.get(
    "/communes/{commune}.{fmt}", response_class=Response, responses=REPORT | errors(404, 409, 422)
)
async def commune_sheet(
    commune: str, fmt: Format, principal: ManagerOrCommune, db: DbSession,
    campaign_id: QueryId | None = None, scenario_id: QueryId | None = None, day: date | None = None,
) -> Response:  # fmt: skip
    check_commune(db, principal, commune)
    data = _data(db, campaign_id, scenario_id, day)
    html = reports.commune_html(
        data, [commune], groups=reports.commune_groups(db=db, codes=[commune], today=data.today)
    )
    return await _out(html, fmt, f"fiche-{commune}")
