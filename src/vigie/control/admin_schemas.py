"""Response models of the admin API (call for interest and money): what
``/api/admin/...`` answers, field by field. Amounts of money are decimal
strings (``"1234.50"``), never floats (``docs/design/finance.md``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from vigie.admin.survey import SurveyAnswers

Money = str  # a decimal string in euros, two decimals


# --- fonds de concours ------------------------------------------------------------


class GrantOut(BaseModel):
    programme: str
    eligible_cost: Money
    total_cost: Money
    other_subsidies: Money
    rate_percent: str
    base_amount: Money
    ceiling: Money | None
    legal_cap: Money
    amount: Money = Field(description="The fonds de concours granted.")
    limited_by: Literal["rate", "ceiling", "legal_cap"]
    commune_share: Money = Field(description="What the commune finances itself.")
    steps: list[str] = Field(description="The calculation, step by step (French).")


class ProgrammeOut(BaseModel):
    code: str
    label: str
    valid_from: date
    valid_to: date | None
    standard_rate_percent: str
    priority_rate_percent: str
    multi_commune_bonus_points: str
    ceiling_per_project: Money | None
    ceiling_multi_commune_project: Money | None
    source: str


# --- participation scenarios ------------------------------------------------------


class LineOut(BaseModel):
    insee_code: str
    name: str
    parts: dict[str, Money] = Field(description="By envelope (key or option:code).")
    amount: Money


class ParticipationOut(BaseModel):
    scenario: str
    cost_to_cover: Money
    envelopes: dict[str, Money]
    communes: list[LineOut]
    total: Money
    rounding: Literal["largest_remainder"]


class ScenarioOut(BaseModel):
    id: int
    name: str
    spec: dict[str, Any] = Field(description="The scenario as saved (docs/design/finance.md).")


class ScenarioSavedOut(BaseModel):
    id: int
    name: str


class ScenarioTotalOut(BaseModel):
    name: str
    total: Money


class CompareRowOut(BaseModel):
    insee_code: str
    name: str
    amounts: list[Money | None] = Field(description="One per scenario, in the order asked.")


class CompareOut(BaseModel):
    scenarios: list[ScenarioTotalOut]
    communes: list[CompareRowOut]


# --- inventory --------------------------------------------------------------------


class ImportReportOut(BaseModel):
    rows: dict[str, int] = Field(description="Rows imported, by sheet.")
    communes: dict[str, int] = Field(description="Rows imported, by commune.")


class CommuneInventoryOut(BaseModel):
    insee_code: str
    name: str
    cameras: int
    obsolete_cameras: int
    by_flag: dict[str, int]
    by_mount: dict[str, int]
    recorders: int
    storage_tb: str
    csu_hours_per_week: int
    csu_staff: int
    links: int
    authorisations: int
    authorisations_expired: int
    authorisations_expiring: int


class CameraLineOut(BaseModel):
    site: str
    count: int
    mount: str
    transport: str
    flags: list[str]


class CommuneInventoryDetailOut(CommuneInventoryOut):
    cameras_detail: list[CameraLineOut]


# --- questionnaires ---------------------------------------------------------------


class CampaignOut(BaseModel):
    id: int
    name: str
    opens_at: datetime
    closes_at: datetime
    opens_on: date = Field(description="First day, Europe/Paris.")
    closes_on: date = Field(description="Last day, Europe/Paris.")


ResponseStatus = Literal["not_started", "draft", "submitted"]


class FollowUpOut(BaseModel):
    insee_code: str
    name: str
    status: ResponseStatus
    updated_at: datetime | None
    submitted_at: datetime | None
    interested: bool | None = Field(description="For submitted answers only.")


class SurveyResultsOut(BaseModel):
    campaign: str
    communes: int
    drafts: int
    submitted: int
    interested: int
    cameras_to_connect: int
    hours_by_weekday: dict[str, int]
    communes_by_weekday: dict[str, int]
    services: dict[str, int]
    pooled_csu_interest: int
    ai_interest: int
    requisitions_per_month: int


class SurveyResponseOut(BaseModel):
    campaign_id: int
    commune_insee: str
    status: ResponseStatus
    answers: SurveyAnswers
    updated_at: datetime | None = Field(None, description="Absent before any answer.")
    submitted_at: datetime | None = None


# --- catalogue ---------------------------------------------------------------------


class CatalogueItemOut(BaseModel):
    code: str
    label: str
    unit: str
    unit_cost_eur_per_year: Money


class CatalogueVersionOut(BaseModel):
    id: int
    label: str
    valid_from: date
    note: str
    items: list[CatalogueItemOut]
