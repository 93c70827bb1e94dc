"""Tables of recorded video: segment index, destruction register, legal holds,
transmissions of exports, per-commune storage quotas.

Instants are ``UTCDateTime``; sizes in bytes. The destruction register and the
transmissions carry no foreign key to segments, so they survive the purge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vigie.storage.models import Base
from vigie.storage.types import CREATED_AT, UTCDateTime


class RecordingSegment(Base):
    """One fMP4 segment file written by a media process.

    ``keyframes`` packs, per keyframe, (milliseconds from ``start_utc``, byte
    offset of its moof) as two little-endian uint32 (``recording.index``).
    """

    __tablename__ = "recording_segments"
    __table_args__ = (Index("ix_recording_segments_camera_start", "camera_id", "start_utc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(300), unique=True)  # relative to recordings dir
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    frames: Mapped[int] = mapped_column(Integer)
    init_bytes: Mapped[int] = mapped_column(Integer)
    keyframes: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok, truncated, missing
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)


class Destruction(Base):
    """The destruction register (CSI L252-5): one line per destroyed segment."""

    __tablename__ = "recording_destructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer, index=True)
    commune_insee: Mapped[str] = mapped_column(String(5), index=True)
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))  # retention, quota, disk_full, file_missing
    destroyed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    path: Mapped[str] = mapped_column(String(300))


class Requisition(Base):
    """A judicial requisition; while ``active`` its footage is on legal hold."""

    __tablename__ = "requisitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_number: Mapped[str] = mapped_column(String(100))
    officer: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(200))
    camera_ids: Mapped[list[int]] = mapped_column(JSON)
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_account_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, info=CREATED_AT)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    release_reason: Mapped[str] = mapped_column(Text, default="")


class Transmission(Base):
    """An export handed to a recipient; the recipient keeps it one month (CSI L252-3)."""

    __tablename__ = "recording_transmissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer, index=True)
    requisition_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipient: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    transmitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(200))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    export_dir: Mapped[str] = mapped_column(String(500))


class CommuneQuota(Base):
    """Recording storage allotted to one commune in the pooled centre."""

    __tablename__ = "recording_quotas"

    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), primary_key=True)
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
