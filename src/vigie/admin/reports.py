"""Printable reports: a sheet per commune and the metropolitan synthesis, as
HTML (inline SVG charts, no external resource) and PDF (WeasyPrint, DejaVu
fonts installed on the system; no network access is ever attempted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from vigie.admin import catalogue, charts, inventory, survey
from vigie.admin.money import ZERO, fmt_fr
from vigie.admin.participation import ParticipationResult
from vigie.base.errors import InvalidArgument, Unavailable
from vigie.base.i18n import t
from vigie.storage.models import Commune

WEEKDAY_KEYS = survey.WEEKDAYS


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("vigie.admin", "templates"), autoescape=select_autoescape(["html"])
    )
    env.globals["t"] = t
    env.filters["euros"] = fmt_fr
    return env


@dataclass
class ReportData:
    """Everything the two reports show, gathered once."""

    today: date
    communes: dict[str, Commune]
    inventory: dict[str, inventory.CommuneInventory]
    results: survey.SurveyResults | None = None
    responses: dict[str, str] = field(default_factory=dict)  # commune -> status
    participation: ParticipationResult | None = None
    catalogue: Any = None


def gather(
    *,
    db: Session,
    today: date,
    campaign_id: int | None = None,
    participation: ParticipationResult | None = None,
) -> ReportData:
    communes = {c.insee_code: c for c in db.query(Commune).order_by(Commune.name)}
    data = ReportData(
        today=today, communes=communes, inventory=inventory.summary(db=db, today=today)
    )
    if campaign_id is not None:
        data.results = survey.results(db=db, campaign_id=campaign_id)
        data.responses = {
            str(r["insee_code"]): str(r["status"])
            for r in survey.follow_up(db=db, campaign_id=campaign_id)
        }
    data.participation = participation
    try:
        data.catalogue = catalogue.version_in_force(db=db, day=today)
    except Exception:
        data.catalogue = None
    return data


def _weekday_chart(hours: dict[str, int]) -> Markup:
    items = [
        (t(f"admin.weekday.{d}"), float(hours.get(d, 0)), f"{hours.get(d, 0)} h")
        for d in WEEKDAY_KEYS
    ]
    return Markup(charts.column_chart(items))


def synthesis_html(data: ReportData) -> str:
    inv = data.inventory
    cameras_map = Markup(
        charts.commune_map({c: float(s.cameras) for c, s in inv.items() if s.cameras}, unit="cam.")
    )
    obsolete_map = Markup(
        charts.commune_map(
            {c: float(s.obsolete_share_percent) for c, s in inv.items() if s.cameras},
            unit="%",
        )
    )
    participation_chart = None
    participation_map = None
    if data.participation is not None:
        lines = sorted(data.participation.lines, key=lambda line: line.total, reverse=True)
        participation_chart = Markup(
            charts.bar_chart([(line.name, float(line.total), fmt_fr(line.total)) for line in lines])
        )
        participation_map = Markup(
            charts.commune_map({line.insee_code: float(line.total) for line in lines}, unit="€")
        )
    coverage_chart = None
    communes_chart = None
    if data.results is not None:
        coverage_chart = _weekday_chart(data.results.hours_by_weekday)
        communes_chart = Markup(
            charts.column_chart(
                [
                    (t(f"admin.weekday.{d}"), float(n), str(n))
                    for d, n in data.results.communes_by_weekday.items()
                ]
            )
        )
    totals = {
        "cameras": sum(s.cameras for s in inv.values()),
        "obsolete": sum(s.obsolete_cameras for s in inv.values()),
        "with_cameras": sum(1 for s in inv.values() if s.cameras),
        "csu": sum(1 for s in inv.values() if s.csu_hours_per_week),
        "analogue": sum(s.by_flag["analogue"] for s in inv.values()),
        "age": sum(s.by_flag["age"] for s in inv.values()),
        "below": sum(s.by_flag["below_legal_minimum"] for s in inv.values()),
        "auth_expired": sum(s.authorisations_expired for s in inv.values()),
    }
    return (
        _env()
        .get_template("reports/synthesis.html")
        .render(
            data=data,
            inv=inv,
            totals=totals,
            cameras_map=cameras_map,
            obsolete_map=obsolete_map,
            participation_chart=participation_chart,
            participation_map=participation_map,
            coverage_chart=coverage_chart,
            communes_chart=communes_chart,
        )
    )


def _commune_context(data: ReportData, code: str) -> dict[str, Any]:
    if code not in data.communes:
        raise InvalidArgument(
            t("admin.commune.unknown", field="commune", code=code), field="commune"
        )
    s = data.inventory[code]
    answers = data.results.answers.get(code) if data.results is not None else None
    line = data.participation.by_commune().get(code) if data.participation is not None else None
    estimate: dict[str, Decimal] = {}
    if answers is not None and data.catalogue is not None:
        estimate = catalogue.estimate_needs(
            data.catalogue,
            hours_per_week=answers.hours_wanted.total,
            cameras=answers.cameras_to_connect or 0,
            services=answers.services,
            requisitions_per_month=answers.requisitions_per_month or 0,
        )
    labels = {i.code: i.label for i in data.catalogue.items} if data.catalogue is not None else {}
    return {
        "code": code,
        "commune": data.communes[code],
        "s": s,
        "answers": answers,
        "status": data.responses.get(code, "not_started") if data.results is not None else None,
        "line": line,
        "estimate": estimate,
        "estimate_total": sum(estimate.values(), ZERO),
        "labels": labels,
        "map": Markup(
            charts.commune_map({code: float(s.cameras)}, width=420, highlight=code, unit="cam.")
        ),
        "hours_chart": _weekday_chart(answers.hours_wanted.model_dump())
        if answers is not None
        else None,
    }


def commune_html(
    data: ReportData,
    codes: list[str],
    *,
    groups: dict[str, list[tuple[Any, list[str]]]] | None = None,
) -> str:
    sheets = []
    for code in codes:
        ctx = _commune_context(data, code)
        ctx["groups"] = (groups or {}).get(code, [])
        sheets.append(ctx)
    return _env().get_template("reports/commune.html").render(data=data, sheets=sheets)


def commune_groups(
    *, db: Session, codes: list[str], today: date
) -> dict[str, list[tuple[Any, list[str]]]]:
    return {c: inventory.camera_lines(db=db, commune=c, today=today) for c in codes}


def _no_network(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    raise ValueError(f"external resource refused: {url}")


def render_pdf(html: str) -> bytes:
    """PDF of ``html``; any external resource is refused (offline by design)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # missing Python package or system libraries
        raise Unavailable(t("admin.report.pdf_unavailable", reason=str(exc))) from exc
    pdf: bytes = HTML(string=html, url_fetcher=_no_network).write_pdf()
    return pdf
