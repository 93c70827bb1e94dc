"""Request and response models of the core API (apart from the routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(None, max_length=10, description="6-digit code when enrolled.")


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    csrf: str
    communes: list[str] = []
    mfa: bool = False
    totp_enabled: bool = False
    totp_enrolment_required: bool = False
    may: list[str] = Field(
        default_factory=list,
        description="Pages and features the account may use (the rules of the navigation).",
    )


class CommuneOut(BaseModel):
    insee_code: str
    name: str
    population: int
    population_year: int
    lon: float
    lat: float
    cameras: int = 0


class SiteIn(Strict):
    commune_insee: str = Field(min_length=5, max_length=5, description="INSEE code of the commune")
    name: str = Field(min_length=1, max_length=200)
    address: str = Field("", max_length=300)
    lon: float | None = None
    lat: float | None = None


class SiteOut(BaseModel):
    id: int
    commune_insee: str
    name: str
    address: str
    lon: float | None
    lat: float | None


class CameraIn(Strict):
    name: str = Field(min_length=1, max_length=200, description="Name shown to operators")
    commune_insee: str = Field(
        min_length=5, max_length=5, description="INSEE code of the owning commune"
    )
    main_url: str = Field(
        description="RTSP URL of the main stream (credentials allowed, stored apart)"
    )
    sub_url: str | None = Field(None, description="RTSP URL of the sub stream for grid tiles")
    username: str | None = Field(None, max_length=200)
    password: str | None = Field(None, max_length=200)
    site_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    kind: Literal["fixed", "ptz", "multisensor"] = "fixed"
    description: str = ""
    enabled: bool = True


class CameraPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    commune_insee: str | None = Field(None, min_length=5, max_length=5)
    main_url: str | None = None
    sub_url: str | None = None
    username: str | None = None
    password: str | None = None
    site_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    kind: Literal["fixed", "ptz", "multisensor"] | None = None
    description: str | None = None
    enabled: bool | None = None


class StreamStatus(BaseModel):
    state: str
    message: str | None = None
    codec: str | None = None
    live_playable: bool | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: float | None = None
    gop_frames: int | None = None
    last_packet_age_s: float | None = None
    reconnects: int | None = None
    error_code: str | None = None
    last_event: str | None = None
    viewers: int | None = None


class CameraOut(BaseModel):
    id: int
    name: str
    commune_insee: str
    commune_name: str
    site_id: int | None
    main_url: str
    sub_url: str | None
    has_credentials: bool
    lon: float | None
    lat: float | None
    kind: str
    description: str
    enabled: bool
    created_at: datetime
    status: dict[str, StreamStatus] = {}
    privacy_masks: list[dict[str, Any]] = []


class TicketIn(Strict):
    stream: Literal["main", "sub"] = "sub"
    purpose: Literal["live", "snapshot"] = "live"
    reason: str = Field("", max_length=500, description="Why (kept in the audit log).")


class TicketOut(BaseModel):
    ticket: str
    url: str
    stream: str
    expires_at: datetime
    commune_insee: str
    codec: str | None
    live_playable: bool
    message: str | None = None


class MediaStatsOut(BaseModel):
    nodes: list[dict[str, Any]]
    streams: dict[str, Any]
