"""SQLAlchemy models of the admin domain: inventory, questionnaire campaigns,
service catalogue, participation scenarios and subsidised projects.

Money is ``Numeric(14, 2)`` (``Decimal`` in Python); instants are
``UTCDateTime``; calendar dates that carry no time (an authorisation's expiry,
a catalogue's validity) are ``Date``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.storage.models import Base
from vigie.storage.types import CREATED_AT, UPDATED_AT, UTCDateTime

MONEY = Numeric(14, 2)


class InventoryCameraGroup(Base):
    """A group of identical existing cameras of a commune (one inventory line)."""

    __tablename__ = "admin_inventory_cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    site: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(Integer)
    mount: Mapped[str] = mapped_column(String(20))  # fixed | ptz | multi_sensor
    transport: Mapped[str] = mapped_column(String(10))  # analogue | ip
    codec: Mapped[str] = mapped_column(String(20), default="")
    width_px: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height_px: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    installed_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    maker: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    close_up: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class InventoryRecorder(Base):
    __tablename__ = "admin_inventory_recorders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    maker: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    channels: Mapped[int] = mapped_column(Integer)
    storage_tb: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    installed_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class InventoryCsu(Base):
    """An existing supervision centre (CSU) of a commune or a pooled one."""

    __tablename__ = "admin_inventory_csu"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    staffed_hours_per_week: Mapped[int] = mapped_column(Integer)
    staff_count: Mapped[int] = mapped_column(Integer)
    pooled: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class InventoryLink(Base):
    __tablename__ = "admin_inventory_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # fibre | copper | radio | cellular | other
    bandwidth_mbps: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(100), default="")
    endpoint: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class InventoryAuthorisation(Base):
    """A prefectoral authorisation of a commune's camera system."""

    __tablename__ = "admin_inventory_authorisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    reference: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    camera_count: Mapped[int] = mapped_column(Integer)
    retention_days_max: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class SurveyCampaign(Base):
    __tablename__ = "admin_survey_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class SurveyResponse(Base):
    """One commune's answers to one campaign: a draft until submitted."""

    __tablename__ = "admin_survey_responses"
    __table_args__ = (
        UniqueConstraint("campaign_id", "commune_insee", name="uq_admin_survey_response"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("admin_survey_campaigns.id", ondelete="CASCADE"), index=True
    )
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | submitted
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    campaign: Mapped[SurveyCampaign] = relationship()


class CatalogueVersion(Base):
    """A version of the service catalogue; its items never change once created."""

    __tablename__ = "admin_catalogue_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    valid_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)

    items: Mapped[list[CatalogueItem]] = relationship(
        cascade="all, delete-orphan", order_by="CatalogueItem.position"
    )


class CatalogueItem(Base):
    __tablename__ = "admin_catalogue_items"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_admin_catalogue_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("admin_catalogue_versions.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(30))
    unit_cost_eur_per_year: Mapped[Decimal] = mapped_column(MONEY)


class ParticipationScenario(Base):
    """A saved participation scenario (the JSON of docs/design/finance.md)."""

    __tablename__ = "admin_scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, info=UPDATED_AT)


class SubsidyProject(Base):
    """A project examined for the fonds de concours, with the computed grant."""

    __tablename__ = "admin_subsidy_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    eligible_cost: Mapped[Decimal] = mapped_column(MONEY)
    total_cost: Mapped[Decimal] = mapped_column(MONEY)
    other_subsidies: Mapped[Decimal] = mapped_column(MONEY)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    multi_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    programme: Mapped[str] = mapped_column(String(50))
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    limited_by: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
