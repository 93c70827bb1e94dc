"""Questionnaire campaigns: each commune states its needs, saves drafts and
submits before the deadline; the project team follows who has answered and
reads consolidated results.

Dates a human types are Europe/Paris calendar days; instants are stored UTC.
A campaign opens at 00:00 (Paris) on its first day and closes at 23:59:59
(Paris) on its last day; saving or submitting outside that window is refused
with the deadline spelled out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.admin.models import CatalogueVersion, SurveyCampaign, SurveyResponse
from vigie.base.errors import FailedPrecondition, InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.storage.models import AccountCommune, Commune

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REQUIRED_ON_SUBMIT = (
    "cameras_to_connect",
    "pooled_csu_interest",
    "ai_interest",
    "requisitions_per_month",
)


class WeeklyHours(BaseModel):
    """Hours of remote supervision wanted, per weekday (0 to 24)."""

    model_config = ConfigDict(extra="forbid")
    monday: int = Field(0, ge=0, le=24)
    tuesday: int = Field(0, ge=0, le=24)
    wednesday: int = Field(0, ge=0, le=24)
    thursday: int = Field(0, ge=0, le=24)
    friday: int = Field(0, ge=0, le=24)
    saturday: int = Field(0, ge=0, le=24)
    sunday: int = Field(0, ge=0, le=24)

    @property
    def total(self) -> int:
        return sum(getattr(self, d) for d in WEEKDAYS)


class SurveyAnswers(BaseModel):
    """A commune's answers; every field may be empty in a draft."""

    model_config = ConfigDict(extra="forbid")
    hours_wanted: WeeklyHours = Field(default_factory=lambda: WeeklyHours.model_validate({}))
    services: list[str] = Field(default_factory=list, max_length=50)
    cameras_to_connect: int | None = Field(None, ge=0, le=10_000)
    pooled_csu_interest: bool | None = None
    ai_interest: bool | None = None
    requisitions_per_month: int | None = Field(None, ge=0, le=10_000)
    contact_name: str = Field("", max_length=200)
    contact_email: str = Field("", max_length=200)
    comments: str = Field("", max_length=4000)


_REASONS = {
    "int_parsing": "admin.survey.reason.integer",
    "int_type": "admin.survey.reason.integer",
    "int_from_float": "admin.survey.reason.integer",
    "bool_parsing": "admin.survey.reason.bool",
    "bool_type": "admin.survey.reason.bool",
    "greater_than_equal": "admin.survey.reason.min",
    "less_than_equal": "admin.survey.reason.max",
    "extra_forbidden": "admin.survey.reason.unknown",
    "string_too_long": "admin.survey.reason.too_long",
    "too_long": "admin.survey.reason.too_many",
}


def parse_answers(
    data: Mapping[str, Any], *, valid_services: Sequence[str], complete: bool
) -> SurveyAnswers:
    """Validate answers; ``complete`` demands what a submission needs."""
    try:
        answers = SurveyAnswers.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        ctx = err.get("ctx") or {}
        key = _REASONS.get(err["type"], "admin.survey.reason.invalid")
        reason = t(key, ge=ctx.get("ge", ""), le=ctx.get("le", ""))
        raise InvalidArgument(
            t("admin.survey.invalid", field=where, reason=reason), field=where
        ) from None
    for i, code in enumerate(answers.services):
        if code not in valid_services:
            raise InvalidArgument(
                t("admin.survey.unknown_service", code=code, codes=", ".join(valid_services)),
                field=f"services.{i}",
            )
    if complete:
        for name in REQUIRED_ON_SUBMIT:
            if getattr(answers, name) is None:
                raise InvalidArgument(t("admin.survey.missing", field=name), field=name)
    return answers


# ---------------------------------------------------------------- time


def paris_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=PARIS).astimezone(UTC)


def paris_end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS).astimezone(UTC)


def paris_text(instant: datetime) -> str:
    local = instant.astimezone(PARIS)
    return local.strftime("%d/%m/%Y à %H:%M")


# ---------------------------------------------------------------- campaigns


def create_campaign(*, db: Session, name: str, opens_on: date, closes_on: date) -> SurveyCampaign:
    name = name.strip()
    if not name:
        raise InvalidArgument(t("admin.value.required", field="name"), field="name")
    if closes_on < opens_on:
        raise InvalidArgument(t("admin.survey.dates_order"), field="closes_on")
    if db.scalar(select(SurveyCampaign).where(SurveyCampaign.name == name)) is not None:
        raise FailedPrecondition(t("admin.survey.name_taken", name=name), field="name")
    campaign = SurveyCampaign(
        name=name, opens_at=paris_start(opens_on), closes_at=paris_end(closes_on)
    )
    db.add(campaign)
    db.flush()
    return campaign


def get_campaign(*, db: Session, campaign_id: int) -> SurveyCampaign:
    campaign = db.get(SurveyCampaign, campaign_id)
    if campaign is None:
        raise NotFound(t("admin.survey.campaign_not_found", id=campaign_id))
    return campaign


def list_campaigns(*, db: Session) -> list[SurveyCampaign]:
    return list(db.scalars(select(SurveyCampaign).order_by(SurveyCampaign.opens_at.desc())))


def campaign_to_dict(c: SurveyCampaign) -> dict[str, object]:
    return {
        "id": c.id,
        "name": c.name,
        "opens_at": c.opens_at.isoformat(),
        "closes_at": c.closes_at.isoformat(),
        "opens_on": c.opens_at.astimezone(PARIS).date().isoformat(),
        "closes_on": c.closes_at.astimezone(PARIS).date().isoformat(),
    }


def valid_services(*, db: Session) -> list[str]:
    """Codes of the newest catalogue version, or of the shipped one."""
    from vigie.admin.catalogue import default_codes

    newest = db.scalar(
        select(CatalogueVersion).order_by(CatalogueVersion.valid_from.desc()).limit(1)
    )
    return [i.code for i in newest.items] if newest is not None else default_codes()


def communes_of(*, db: Session, account_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AccountCommune.commune_insee).where(AccountCommune.account_id == account_id)
        )
    )


# ---------------------------------------------------------------- responses


def _check_window(campaign: SurveyCampaign, now: datetime) -> None:
    if now < campaign.opens_at:
        raise FailedPrecondition(
            t("admin.survey.not_open", name=campaign.name, opens=paris_text(campaign.opens_at)),
            field="now",
        )
    if now > campaign.closes_at:
        raise FailedPrecondition(
            t("admin.survey.closed", name=campaign.name, deadline=paris_text(campaign.closes_at)),
            field="closes_at",
        )


def _response(db: Session, campaign_id: int, commune: str) -> SurveyResponse | None:
    return db.scalar(
        select(SurveyResponse).where(
            SurveyResponse.campaign_id == campaign_id, SurveyResponse.commune_insee == commune
        )
    )


def _check_commune(db: Session, commune: str) -> None:
    if db.get(Commune, commune) is None:
        raise InvalidArgument(
            t("admin.commune.unknown", field="commune", code=commune), field="commune"
        )


def get_response(*, db: Session, campaign_id: int, commune: str) -> SurveyResponse | None:
    get_campaign(db=db, campaign_id=campaign_id)
    _check_commune(db, commune)
    return _response(db, campaign_id, commune)


def save_draft(
    *,
    db: Session,
    campaign_id: int,
    commune: str,
    answers: Mapping[str, Any],
    account_id: int | None,
    now: datetime,
) -> SurveyResponse:
    campaign = get_campaign(db=db, campaign_id=campaign_id)
    _check_commune(db, commune)
    _check_window(campaign, now)
    parsed = parse_answers(answers, valid_services=valid_services(db=db), complete=False)
    row = _response(db, campaign_id, commune)
    if row is not None and row.status == "submitted":
        raise FailedPrecondition(t("admin.survey.already_submitted"), field="status")
    if row is None:
        row = SurveyResponse(campaign_id=campaign_id, commune_insee=commune, status="draft")
        db.add(row)
    row.answers = parsed.model_dump(mode="json")
    row.updated_at = now
    row.updated_by = account_id
    db.flush()
    return row


def submit(
    *,
    db: Session,
    campaign_id: int,
    commune: str,
    answers: Mapping[str, Any] | None,
    account_id: int | None,
    now: datetime,
) -> SurveyResponse:
    """Submit (or amend, before the deadline) a commune's answers.

    ``answers`` None submits the saved draft as it stands.
    """
    campaign = get_campaign(db=db, campaign_id=campaign_id)
    _check_commune(db, commune)
    _check_window(campaign, now)
    row = _response(db, campaign_id, commune)
    if answers is None:
        if row is None:
            raise FailedPrecondition(t("admin.survey.nothing_to_submit"), field="answers")
        answers = row.answers
    parsed = parse_answers(answers, valid_services=valid_services(db=db), complete=True)
    if row is None:
        row = SurveyResponse(campaign_id=campaign_id, commune_insee=commune)
        db.add(row)
    row.answers = parsed.model_dump(mode="json")
    row.status = "submitted"
    row.updated_at = now
    row.updated_by = account_id
    row.submitted_at = now
    db.flush()
    return row


def response_to_dict(
    row: SurveyResponse | None, *, campaign_id: int, commune: str
) -> dict[str, object]:
    if row is None:
        return {
            "campaign_id": campaign_id,
            "commune_insee": commune,
            "status": "not_started",
            "answers": SurveyAnswers.model_validate({}).model_dump(mode="json"),
            "updated_at": None,  # the same keys whether answered or not
            "submitted_at": None,
        }
    return {
        "campaign_id": row.campaign_id,
        "commune_insee": row.commune_insee,
        "status": row.status,
        "answers": row.answers,
        "updated_at": row.updated_at.isoformat(),
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
    }


# ---------------------------------------------------------------- follow-up and results


def is_interested(answers: SurveyAnswers) -> bool:
    """A commune is *interested* when it wants any hours of supervision or any camera connected."""
    return bool(answers.hours_wanted.total or answers.cameras_to_connect)


def follow_up(*, db: Session, campaign_id: int) -> list[dict[str, object]]:
    """Every commune with the state of its answer: not_started, draft, submitted.

    ``interested`` is a boolean for submitted answers (see :func:`is_interested`),
    ``None`` otherwise.
    """
    get_campaign(db=db, campaign_id=campaign_id)
    rows = {
        r.commune_insee: r
        for r in db.scalars(select(SurveyResponse).where(SurveyResponse.campaign_id == campaign_id))
    }
    out: list[dict[str, object]] = []
    for c in db.scalars(select(Commune).order_by(Commune.name)):
        r = rows.get(c.insee_code)
        out.append(
            {
                "insee_code": c.insee_code,
                "name": c.name,
                "status": "not_started" if r is None else r.status,
                "updated_at": None if r is None else r.updated_at.isoformat(),
                "submitted_at": None
                if r is None or r.submitted_at is None
                else r.submitted_at.isoformat(),
                "interested": is_interested(SurveyAnswers.model_validate(r.answers))
                if r is not None and r.status == "submitted"
                else None,
            }
        )
    return out


@dataclass
class SurveyResults:
    campaign: str
    communes: int = 0
    drafts: int = 0
    submitted: int = 0
    interested: int = 0
    cameras_to_connect: int = 0
    hours_by_weekday: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WEEKDAYS, 0))
    communes_by_weekday: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WEEKDAYS, 0))
    services: dict[str, int] = field(default_factory=dict)
    pooled_csu_interest: int = 0
    ai_interest: int = 0
    requisitions_per_month: int = 0
    answers: dict[str, SurveyAnswers] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "campaign": self.campaign,
            "communes": self.communes,
            "drafts": self.drafts,
            "submitted": self.submitted,
            "interested": self.interested,
            "cameras_to_connect": self.cameras_to_connect,
            "hours_by_weekday": dict(self.hours_by_weekday),
            "communes_by_weekday": dict(self.communes_by_weekday),
            "services": dict(self.services),
            "pooled_csu_interest": self.pooled_csu_interest,
            "ai_interest": self.ai_interest,
            "requisitions_per_month": self.requisitions_per_month,
        }


def results(*, db: Session, campaign_id: int) -> SurveyResults:
    """Consolidated submitted answers (drafts are counted, not consolidated).

    A commune is *interested* when it wants any hours of supervision or any
    camera connected.
    """
    campaign = get_campaign(db=db, campaign_id=campaign_id)
    out = SurveyResults(campaign=campaign.name, communes=db.query(Commune).count())
    services: Counter[str] = Counter()
    for r in db.scalars(select(SurveyResponse).where(SurveyResponse.campaign_id == campaign_id)):
        if r.status != "submitted":
            out.drafts += 1
            continue
        out.submitted += 1
        a = SurveyAnswers.model_validate(r.answers)
        out.answers[r.commune_insee] = a
        if is_interested(a):
            out.interested += 1
        out.cameras_to_connect += a.cameras_to_connect or 0
        for d in WEEKDAYS:
            hours = getattr(a.hours_wanted, d)
            out.hours_by_weekday[d] += hours
            out.communes_by_weekday[d] += 1 if hours else 0
        services.update(a.services)
        out.pooled_csu_interest += 1 if a.pooled_csu_interest else 0
        out.ai_interest += 1 if a.ai_interest else 0
        out.requisitions_per_month += a.requisitions_per_month or 0
    out.services = dict(sorted(services.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def scenario_members(results: SurveyResults) -> list[dict[str, object]]:
    """The interested communes of a campaign as participation scenario members:
    cameras to connect and hours of supervision wanted per week, as answered."""
    return [
        {
            "insee_code": code,
            "cameras": a.cameras_to_connect or 0,
            "hours_per_week": a.hours_wanted.total,
        }
        for code, a in sorted(results.answers.items())
        if is_interested(a)
    ]
