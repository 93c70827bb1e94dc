"""Request and response models of the core API (apart from the routes), and
what every route shares: the error body, bounded ids, error responses.

The API contract (``docs/design/api.md``): every operation declares its
response model (or its file's media type) and the errors it answers; the
fuzz test (``tests/integration/test_api_fuzz.py``) holds the application
to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t

# --- ids -------------------------------------------------------------------------

# The largest row id a database integer holds (SQLite INTEGER, PostgreSQL BIGINT):
# a larger one never names a row, and SQLite raises OverflowError on it.
MAX_ID = 2**63 - 1
ID_DESCRIPTION = "Row id, 1 to 2^63 - 1."
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description=ID_DESCRIPTION, examples=[1])]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID, description=ID_DESCRIPTION, examples=[1])]
# A commune's INSEE code: five characters, 2A/2B for Corsica.
INSEE_PATTERN = r"^[0-9][0-9AB][0-9]{3}$"
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, description=ID_DESCRIPTION)]


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 19 and 1 <= int(text) <= MAX_ID


def id_list(text: str, *, field: str) -> list[int]:
    """Ids given as one comma-separated string (``1,2,3``); refused naming ``field``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(_is_id(p) for p in parts):
        raise InvalidArgument(t("api.ids_invalid", field=field, value=text[:100]), field=field)
    return [int(p) for p in parts]


# --- errors ----------------------------------------------------------------------

ErrorKind = Literal[
    "invalid_argument",
    "not_found",
    "permission_denied",
    "unauthenticated",
    "failed_precondition",
    "resource_exhausted",
    "unavailable",
    "internal",
]


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the input at fault.")
    message: str


class RowProblem(BaseModel):
    """A bad cell of an imported sheet."""

    sheet: str
    line: int
    column: str
    reason: str


class ErrorBody(BaseModel):
    kind: ErrorKind
    message: str = Field(description="What was wrong and what to do (French).")
    field: str | None = Field(None, description="The input at fault, when there is one.")
    details: list[FieldProblem] | list[RowProblem] | None = None


class ErrorOut(BaseModel):
    """Every error answer of the API: ``{"error": {"kind", "message", "field"?}}``."""

    error: ErrorBody


ERROR_DESCRIPTIONS = {
    400: "Unreadable request body (not UTF-8, not parseable).",
    401: "Not signed in, or the session or API token has ended.",
    403: "Signed in, but this role or account may not do it (or the CSRF token is missing).",
    404: "No such thing, or not one this account may see.",
    409: "Not possible in the current state (failed precondition).",
    422: "Invalid input: ``field`` names it.",
    429: "Too many attempts: wait, then retry.",
    503: "A media process does not answer.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry declaring error answers (all with ``ErrorOut``)."""
    return {s: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


def file_response(*media_types: str, description: str = "The file.") -> dict[int | str, Any]:
    """The ``responses=`` entry of a download: its media types, no JSON model."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


def attachment(filename: str, *, inline: bool = False) -> dict[str, str]:
    """The ``Content-Disposition`` header of a download, whatever the name holds
    (RFC 6266: an ASCII fallback, and the UTF-8 name in ``filename*``)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)  # fmt: skip
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Disposition": f'{disposition}; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    }


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowOut(BaseModel):
    """A weekly window, Europe/Paris: an end before the start ends the next day."""

    weekday: int = Field(ge=0, le=6, description="0 = lundi … 6 = dimanche")
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM (24:00 = midnight at the end of the day)")


class PeriodOut(BaseModel):
    start: datetime
    end: datetime


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
    site_id: BodyId | None = None
    lon: float | None = None
    lat: float | None = None
    kind: Literal["fixed", "ptz", "multisensor"] = "fixed"
    description: str = ""
    enabled: bool = True


class CameraPatch(Strict):
    """Only the fields sent change. ``null`` clears an optional field (sub_url,
    credentials, site, position); the others cannot be null: leave them out."""

    # ``SkipJsonSchema[None]``: None means "not sent"; the schema says null is refused.
    name: str | SkipJsonSchema[None] = Field(None, min_length=1, max_length=200)
    commune_insee: str | SkipJsonSchema[None] = Field(None, min_length=5, max_length=5)
    main_url: str | SkipJsonSchema[None] = None
    sub_url: str | None = None
    username: str | None = None
    password: str | None = None
    site_id: BodyId | None = None
    lon: float | None = None
    lat: float | None = None
    kind: Literal["fixed", "ptz", "multisensor"] | SkipJsonSchema[None] = None
    description: str | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None

    @field_validator("name", "commune_insee", "main_url", "kind", "description", "enabled",
                     mode="before")  # fmt: skip
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value


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


class MaskOut(BaseModel):
    """A privacy mask (CSI L251-3): a polygon in picture fractions (0..1)."""

    label: str
    points: list[tuple[float, float]]


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
    privacy_masks: list[MaskOut] = []


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


class MediaNodeOut(BaseModel):
    index: int
    port: int
    error: str | None = Field(None, description="Why the last call to it failed; None: it answers.")


class RecorderStats(BaseModel):
    model_config = ConfigDict(extra="allow")  # what the media process adds later passes through
    state: str
    error_code: str | None = None
    last_error: str | None = None
    bytes_written: int | None = None
    segments_opened: int | None = None
    lag_s: float | None = None


class StreamStats(StreamStatus):
    """A stream as its media process measures it (``/internal/stats``)."""

    model_config = ConfigDict(extra="allow")
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    dropped_frames: int | None = None
    clock_drift_s: float | None = None
    rtp_packets_lost: int | None = None
    recording: RecorderStats | None = None


class MediaStatsOut(BaseModel):
    nodes: list[MediaNodeOut]
    streams: dict[str, StreamStats] = Field(
        description="Keyed by camera id and stream, e.g. 3/main."
    )


# --- privacy masks -----------------------------------------------------------------


class MasksOut(BaseModel):
    camera_id: int
    name: str
    commune_insee: str
    masks: list[MaskOut]
    can_edit: bool = Field(description="Whether this account may change them.")


# --- recording ---------------------------------------------------------------------


class SpanOut(BaseModel):
    start_utc: datetime
    end_utc: datetime


class TimelineOut(BaseModel):
    spans: list[SpanOut] = Field(description="Recorded periods.")
    gaps: list[SpanOut] = Field(description="Periods of the range with nothing recorded.")


class PlaybackOut(BaseModel):
    url: str = Field(description="WebSocket URL of the media process, ticket included.")
    jti: str = Field(description="The ticket's id (in the audit log).")


class RequisitionOut(BaseModel):
    id: int
    procedure_number: str
    officer: str
    service: str
    legal_basis: str
    camera_ids: list[int] = Field(description="The cameras of it the caller may see")
    other_communes: bool = Field(
        description="It also names cameras of communes outside the caller's scope"
    )
    start_utc: datetime
    end_utc: datetime
    status: str = Field(description="active or released")
    created_at: datetime
    released_at: datetime | None


class ExportJobOut(BaseModel):
    job_id: str
    camera_id: int
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    error: str | None
    created_at: datetime
    transmission_id: int | None = Field(None, description="Once done.")
    frames: int | None = Field(None, description="Once done.")
    manifest: dict[str, Any] | None = Field(
        None, description="Once done: the signed manifest (docs/design/recording.md)."
    )


class TransmissionOut(BaseModel):
    id: int
    camera_id: int
    recipient: str
    service: str
    start_utc: datetime
    end_utc: datetime
    transmitted_at: datetime
    expires_at: datetime
    requisition_id: int | None
    manifest_sha256: str
    files: list[str] = Field(description="Files still on the centre's disk.")


class ConditionOut(BaseModel):
    kind: str = Field(
        description="no_authorisation, quota_full, segment_missing or segment_truncated"
    )
    message: str
    camera_id: int | None
    commune_insee: str | None
    since: datetime | None
