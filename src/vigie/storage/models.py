"""SQLAlchemy models of the core domain: communes, sites, cameras, accounts.

Units and time zones live in names and types: every instant is a
``UTCDateTime``; coordinates are WGS84 degrees (``lon``/``lat``).
Other domains (admin, recording…) declare their models in their own module on
the same ``Base`` so that one Alembic history covers them all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vigie.storage.types import CREATED_AT, UPDATED_AT, UTCDateTime


class Base(DeclarativeBase):
    pass


class Commune(Base):
    __tablename__ = "communes"

    insee_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    population: Mapped[int] = mapped_column(Integer)
    population_year: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)

    commune: Mapped[Commune] = relationship()


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    # Stream URLs are stored without credentials (no userinfo, no credential
    # query parameters); the password and the parameters lifted from the URLs
    # live apart, sealed (domain.cameras.CameraSecrets, under a key derived from
    # VIGIE_SECRET_KEY, never in the database), and are only ever handed to the
    # media plane.
    main_url: Mapped[str] = mapped_column(String(1000))
    sub_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    secrets_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="fixed")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The prefectoral authorisation that covers this camera; it fixes the
    # retention of its recordings and whether its images may be served.
    authorisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorisations.id"), nullable=True, index=True
    )
    # Privacy masks (CSI L251-3), as checked by domain.masks.parse_masks:
    # [{"label": str, "points": [[x, y], ...]}], fractions of the picture.
    privacy_masks: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, info=UPDATED_AT)

    commune: Mapped[Commune] = relationship()
    site: Mapped[Site | None] = relationship()
    authorisation: Mapped[Authorisation | None] = relationship()


class Authorisation(Base):
    """A prefectoral authorisation of video protection (CSI L252-1, valid 5 years).

    Calendar dates (``issued_on``, ``expires_on``) are dates of the prefect's
    order, in Europe/Paris; retention bounds are whole days (CSI L252-5: at
    most 30).
    """

    __tablename__ = "authorisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_min_days: Mapped[int] = mapped_column(Integer, default=0)
    retention_max_days: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)

    commune: Mapped[Commune] = relationship()


class AuditEntry(Base):
    """One line of the append-only audit log; each carries the hash of the previous.

    Written only through ``vigie.storage.audit.append``; never updated, never
    purged with the video (kept 3 years by default).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    commune_insee: Mapped[str | None] = mapped_column(String(5), nullable=True, index=True)
    target: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AccountCommune(Base):
    """The communes an account acts for (a mayor, a commune's operators, a pooled CSU)."""

    __tablename__ = "account_communes"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), primary_key=True)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    # Sign-in protection: consecutive failures and the lockout they caused.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # RFC 6238 second factor: base32 secret once enrolled, last accepted time step.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)

    communes: Mapped[list[AccountCommune]] = relationship(cascade="all, delete-orphan")


class UserSession(Base):
    """A server-side sign-in session; the cookie holds a random token, the table its hash."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(100), default="")


class ApiToken(Base):
    """A token for integrations (``Authorization: Bearer``), stored as a hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AgrementAuthorisation(Base):
    __tablename__ = "agrement_authorisations"

    agrement_id: Mapped[int] = mapped_column(
        ForeignKey("agrements.id", ondelete="CASCADE"), primary_key=True
    )
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("authorisations.id"), primary_key=True)


class Agrement(Base):
    """The prefect's approval of a non-police operator (CSI L132-14-1).

    Dates are calendar dates of the prefect's decision (Europe/Paris).
    """

    __tablename__ = "agrements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    vetted_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)

    authorisations: Mapped[list[AgrementAuthorisation]] = relationship(cascade="all, delete-orphan")


class DelegationCamera(Base):
    __tablename__ = "delegation_cameras"

    delegation_id: Mapped[int] = mapped_column(
        ForeignKey("delegations.id", ondelete="CASCADE"), primary_key=True
    )
    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )


class Delegation(Base):
    """A commune hands viewing of its cameras to the centre (or to national police).

    ``windows``: weekly windows in Europe/Paris wall-clock time
    (``[{"weekday": 0, "start": "20:00", "end": "08:00"}]``); ``spans``: one-off
    handovers in UTC (``[{"start": iso, "end": iso}]``). ``all_cameras`` or the
    listed cameras. Revoked at once by setting ``revoked_at``.
    """

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    grantee: Mapped[str] = mapped_column(String(30), default="cmsu")
    label: Mapped[str] = mapped_column(String(200), default="")
    all_cameras: Mapped[bool] = mapped_column(Boolean, default=True)
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    spans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    cameras: Mapped[list[DelegationCamera]] = relationship(cascade="all, delete-orphan")


class AuditAnchor(Base):
    """The audit chain's ends, MAC'd with the server secret: the newest entry
    (so truncation is seen) and the oldest kept one (after the 3-year purge)."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_id: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    base_id: Mapped[int] = mapped_column(Integer, default=1)
    base_prev_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
