"""Tables of the continuity domain (migration ``0006_continuity``).

Instants are ``UTCDateTime``; durations carry their unit in their name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.storage.models import Base
from vigie.storage.types import CREATED_AT, UTCDateTime


class Alarm(Base):
    """One alarm, open from ``raised_at`` until ``cleared_at``.

    At most one open alarm per ``key`` (``source:subject:kind``): the engine
    deduplicates, the partial unique index below enforces it.
    """

    __tablename__ = "continuity_alarms"
    __table_args__ = (
        Index(
            "uq_continuity_alarms_open_key",
            "key",
            unique=True,
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    camera_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    commune_insee: Mapped[str | None] = mapped_column(String(5), nullable=True, index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    assigned_to: Mapped[str | None] = mapped_column(String(100), nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    notes: Mapped[list[AlarmNote]] = relationship(
        cascade="all, delete-orphan", order_by="AlarmNote.id"
    )


class AlarmNote(Base):
    """The alarm's timeline: raise, clear, ack, assign, comment, escalate."""

    __tablename__ = "continuity_alarm_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(
        ForeignKey("continuity_alarms.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")


class HealthSample(Base):
    """One health sample of a camera (``camera_id``) or of a media process
    (``node``). Kept 30 days (``purge_samples``)."""

    __tablename__ = "continuity_health_samples"
    __table_args__ = (Index("ix_continuity_health_samples_camera_at", "camera_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    camera_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    node: Mapped[str | None] = mapped_column(String(100), nullable=True)
    interval_s: Mapped[float] = mapped_column(Float)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    recording: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """A notification to send; deleted never, marked sent once delivered.

    ``idempotency_key`` is unique (one message per alarm event and
    recipient) and travels with the message so receivers can drop repeats.
    """

    __tablename__ = "continuity_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook
    target: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class Contact(Base):
    """Who is told about alarms: a commune's technical contact, or the
    centre (``commune_insee`` NULL). Either or both of e-mail and webhook."""

    __tablename__ = "continuity_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str | None] = mapped_column(
        ForeignKey("communes.insee_code"), nullable=True, index=True
    )
    label: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(300), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    min_severity: Mapped[str] = mapped_column(String(20), default="warning")


class StaffedWindow(Base):
    """A weekly window (Europe/Paris wall clock) when a commune's own CSU is
    staffed; see ``vigie.domain.schedule.WeeklyWindow``."""

    __tablename__ = "continuity_staffed_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_min: Mapped[int] = mapped_column(Integer)
    end_min: Mapped[int] = mapped_column(Integer)


class CheckSettings(Base):
    """Per-camera image-check thresholds and reference picture."""

    __tablename__ = "continuity_check_settings"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rule 9 (arrêté of 3 August 2007): close-up cameras need 704×576, and
    # 12 images/s when they film fast-moving people.
    close_up: Mapped[bool] = mapped_column(Boolean, default=False)
    fast_moving: Mapped[bool] = mapped_column(Boolean, default=False)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reference_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
