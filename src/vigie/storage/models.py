"""SQLAlchemy models of the core domain: communes, sites, cameras, accounts.

Units and time zones live in names and types: every instant is a
``UTCDateTime``; coordinates are WGS84 degrees (``lon``/``lat``).
Other domains (admin, recording…) declare their models in their own module on
the same ``Base`` so that one Alembic history covers them all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vigie.storage.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    # Stream URLs are stored without credentials; credentials live apart and
    # are only ever handed to the media plane.
    main_url: Mapped[str] = mapped_column(String(1000))
    sub_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="fixed")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    commune: Mapped[Commune] = relationship()
    site: Mapped[Site | None] = relationship()


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    communes: Mapped[list[AccountCommune]] = relationship(cascade="all, delete-orphan")
