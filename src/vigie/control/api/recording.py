"""Recording API: timeline, requisitions (legal holds), exports, conditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from vigie.base.clock import require_utc
from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.control.auditing import record
from vigie.control.authority import HOLD_ROLES
from vigie.control.deps import CurrentPrincipal, DbSession, Principal, get_settings, require_roles
from vigie.control.export_jobs import ExportJobs
from vigie.control.schemas import (
    BodyId,
    ConditionOut,
    ExportJobOut,
    PathId,
    PlaybackOut,
    RequisitionOut,
    TimelineOut,
    TransmissionOut,
    errors,
    file_response,
)
from vigie.control.scope import RecordScope, RequisitionView
from vigie.domain import roles, tickets
from vigie.domain.schedule import intersect
from vigie.recording import holds, index
from vigie.recording.export import VIDEO_NAME, check_request, export_range
from vigie.recording.manifest import MANIFEST_NAME
from vigie.recording.models import Transmission
from vigie.recording.retention import recording_conditions
from vigie.storage.db import session_now

router = APIRouter(prefix="/api", tags=["recording"], responses=errors(401, 403))

PLAYBACK_HORIZON_DAYS = 31  # recordings are kept 30 days at most (CSI L252-5), unless held
Holder = Annotated[Principal, Depends(require_roles(*HOLD_ROLES))]
Supervisor = Annotated[Principal, Depends(require_roles(roles.CMSU_SUPERVISOR, roles.METRO_ADMIN))]


def _root(request: Request) -> Path:
    return get_settings(request).data_dir / "recordings"


def _policy_camera(
    request: Request,
    db: Any,
    principal: Principal,
    cid: int,
    purpose: str,
    recorded: tuple[datetime, datetime] | None = None,
) -> Any:
    policy = request.app.state.access_policy
    return policy.camera_for_images(db, principal, cid, purpose, recorded)


def _scope(request: Request, db: Session, principal: Principal) -> RecordScope:
    return RecordScope.of(db, principal, get_settings(request), session_now(db))


def _clip(spans: list[index.Span], seen: list[tuple[datetime, datetime]] | None) -> list[Any]:
    """Spans cut to the periods the caller may see (None: all)."""
    if seen is None:
        return [(s.start_utc, s.end_utc) for s in spans]
    return intersect([(s.start_utc, s.end_utc) for s in spans], seen)


@router.get(
    "/cameras/{camera_id}/recordings/timeline", response_model=TimelineOut, responses=errors(404)
)
def get_timeline(
    camera_id: PathId,
    start: datetime,
    end: datetime,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
) -> dict[str, Any]:
    """Recorded spans and gaps in [start, end) (ISO 8601 with offset, e.g. ...Z);
    for the centre, only within the recorded periods it may see."""
    camera = _policy_camera(request, db, principal, camera_id, "playback")
    tl = index.timeline(db, camera_id, start, end)
    seen = request.app.state.access_policy.recorded_periods(db, principal, camera, start, end)
    return {
        "spans": [{"start_utc": a, "end_utc": b} for a, b in _clip(tl.spans, seen)],
        "gaps": [{"start_utc": a, "end_utc": b} for a, b in _clip(tl.gaps, seen)],
    }


class PlaybackIn(BaseModel):
    start: datetime
    reason: str


@router.post("/cameras/{camera_id}/playback", response_model=PlaybackOut, responses=errors(404))
def open_playback(
    camera_id: PathId,
    body: PlaybackIn,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
) -> dict[str, Any]:
    """A single-use ``playback`` ticket for the media process, after the access check.

    The reason is required and written to the audit log with the instant.
    """
    _policy_camera(request, db, principal, camera_id, "playback")
    start = require_utc(body.start, "start")
    if len(body.reason.strip()) < holds.MIN_REASON_CHARS:
        raise InvalidArgument(t("recording.hold.reason_required"), field="reason")
    instant = (start, start + timedelta(milliseconds=1))
    camera = _policy_camera(request, db, principal, camera_id, "playback", instant)
    settings = get_settings(request)
    now = session_now(db)
    # The centre's ticket carries the periods it may play (the media process
    # sends nothing outside): within the longest retention, or from ``start``.
    lo = min(start, now - timedelta(days=PLAYBACK_HORIZON_DAYS))
    seen = request.app.state.access_policy.recorded_periods(db, principal, camera, lo, now)
    ranges = (
        None if seen is None else tuple((index.utc_to_ms(a), index.utc_to_ms(b)) for a, b in seen)
    )
    ticket, token = tickets.issue(
        settings.secret_key, camera_id=camera.id, stream="main", account_id=principal.account_id,
        commune=camera.commune_insee, now_s=now.timestamp(), ttl_s=settings.ticket_ttl_s,
        purpose="playback", ranges=ranges,
    )  # fmt: skip
    record(
        db, principal, "playback_start", camera.commune_insee, f"camera:{camera.id}",
        body.reason.strip(), at=now, start_utc=start.isoformat(), jti=ticket.jti,
    )  # fmt: skip
    db.commit()
    directory = request.app.state.media
    node = directory.node_for(camera.id)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    path = f"/playback/{camera.id}/main"
    url = directory.public_ws_url(node, request.headers.get("host", "127.0.0.1"), path, scheme)
    return {"url": f"{url}?ticket={token}&start_ms={index.utc_to_ms(start)}", "jti": ticket.jti}


class RequisitionIn(BaseModel):
    procedure_number: str = Field(max_length=100)
    officer: str = Field(max_length=200)
    service: str = Field(max_length=200)
    legal_basis: str = Field(max_length=200)
    camera_ids: list[BodyId]
    start: datetime
    end: datetime
    reason: str


class ReleaseIn(BaseModel):
    reason: str


def _req_out(v: RequisitionView) -> dict[str, Any]:
    r = v.requisition
    return {
        "id": r.id,
        "procedure_number": r.procedure_number,
        "officer": r.officer,
        "service": r.service,
        "legal_basis": r.legal_basis,
        "camera_ids": v.camera_ids,
        "other_communes": v.other_communes,
        "start_utc": r.start_utc,
        "end_utc": r.end_utc,
        "status": r.status,
        "created_at": r.created_at,
        "released_at": r.released_at,
    }


@router.get("/requisitions", response_model=list[RequisitionOut])
def list_requisitions(request: Request, p: Holder, db: DbSession) -> list[dict[str, Any]]:
    """The requisitions naming cameras in the caller's scope (docs/design/authority.md)."""
    return [_req_out(v) for v in _scope(request, db, p).requisitions()]


@router.post("/requisitions", response_model=RequisitionOut, status_code=201, responses=errors(404))
def create_requisition(
    body: RequisitionIn, request: Request, principal: Holder, db: DbSession
) -> dict[str, Any]:
    scope = _scope(request, db, principal)
    req = holds.create_requisition(
        db, now=session_now(db), actor=principal.username, actor_account_id=principal.account_id,
        procedure_number=body.procedure_number, officer=body.officer, service=body.service,
        legal_basis=body.legal_basis, camera_ids=body.camera_ids, start=body.start,
        end=body.end, reason=body.reason, check_camera=scope.check_hold_camera,
    )  # fmt: skip
    db.commit()
    return _req_out(RequisitionView(req, req.camera_ids, False))


@router.post(
    "/requisitions/{requisition_id}/release", response_model=RequisitionOut, responses=errors(404)
)
def release_requisition(
    requisition_id: PathId, body: ReleaseIn, request: Request, principal: Holder, db: DbSession
) -> dict[str, Any]:
    scope = _scope(request, db, principal)
    req = holds.release_requisition(
        db, requisition_id, now=session_now(db), actor=principal.username,
        actor_account_id=principal.account_id, reason=body.reason, in_scope=scope.whole,
    )  # fmt: skip
    db.commit()
    return _req_out(RequisitionView(req, req.camera_ids, False))


class ExportIn(BaseModel):
    start: datetime
    end: datetime
    recipient: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=200)
    reason: str
    requisition_id: BodyId | None = None


@router.post(
    "/cameras/{camera_id}/exports",
    response_model=ExportJobOut,
    status_code=202,
    responses=errors(404),
)
def create_export(
    camera_id: PathId, body: ExportIn, request: Request, principal: CurrentPrincipal, db: DbSession
) -> dict[str, Any]:
    """Checks rights and request now, then queues the export (``ExportJobs``):
    202 with the job to poll at ``GET /api/exports/jobs/{job_id}``."""
    _policy_camera(request, db, principal, camera_id, "export")
    start, end = check_request(body.start, body.end, body.reason)
    _policy_camera(request, db, principal, camera_id, "export", (start, end))
    if body.requisition_id is not None:
        _scope(request, db, principal).requisition_for_export(body.requisition_id, camera_id)
    settings = get_settings(request)
    now = session_now(db)
    out = settings.data_dir / "exports" / f"{camera_id}-{now:%Y%m%dT%H%M%S%fZ}"
    root, data_dir = _root(request), settings.data_dir

    def run(job_db: Session, progress: Callable[[float], None]) -> dict[str, Any]:
        res = export_range(
            job_db, root=root, data_dir=data_dir, out_dir=out, camera_id=camera_id,
            start=start, end=end, now=now, operator=principal.username,
            operator_account_id=principal.account_id, recipient=body.recipient,
            service=body.service, reason=body.reason, requisition_id=body.requisition_id,
            progress=progress,
        )  # fmt: skip
        return {"transmission_id": res.transmission_id, "frames": res.frames,
                "manifest": res.manifest}  # fmt: skip

    jobs: ExportJobs = request.app.state.export_jobs
    job = jobs.submit(camera_id=camera_id, account_id=principal.account_id, out_dir=out, run=run)
    return job.to_json()


@router.get("/exports/jobs/{job_id}", response_model=ExportJobOut, responses=errors(404))
def export_job(job_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """An export's progress and result, for the account that asked for it."""
    jobs: ExportJobs = request.app.state.export_jobs
    job = jobs.get(job_id)
    if job is None or job.account_id != principal.account_id:
        raise NotFound(t("export.job_not_found"))
    return job.to_json()


def _files(tr: Transmission) -> list[str]:
    """What is left of an export on the centre's disk (the video goes at expiry)."""
    directory = Path(tr.export_dir)
    return [n for n in (VIDEO_NAME, MANIFEST_NAME) if (directory / n).is_file()]


@router.get("/transmissions", response_model=list[TransmissionOut])
def list_transmissions(request: Request, p: Holder, db: DbSession) -> list[dict[str, Any]]:
    """Exports of footage the caller may see (docs/design/authority.md)."""
    return [
        {
            "id": t.id,
            "camera_id": t.camera_id,
            "recipient": t.recipient,
            "service": t.service,
            "start_utc": t.start_utc,
            "end_utc": t.end_utc,
            "transmitted_at": t.transmitted_at,
            "expires_at": t.expires_at,
            "requisition_id": t.requisition_id,
            "manifest_sha256": t.manifest_sha256,
            "files": _files(t),
        }
        for t in _scope(request, db, p).transmissions()
    ]


@router.get(
    "/transmissions/{transmission_id}/files/{name}",
    response_class=FileResponse,
    responses=file_response("video/mp4", "application/json") | errors(404),
)
def download_export_file(
    transmission_id: PathId, name: str, request: Request, principal: Holder, db: DbSession
) -> FileResponse:
    """The exported video or its signed manifest, for handing over. Same rule as
    exporting (the camera's authority, purpose ``export``); each download is logged."""
    tr = _scope(request, db, principal).transmission(transmission_id)
    camera = _policy_camera(request, db, principal, tr.camera_id, "export")
    if name not in (VIDEO_NAME, MANIFEST_NAME):
        raise NotFound(t("recording.transmission.no_file", name=name))
    path = Path(tr.export_dir) / name
    if not path.is_file():
        raise NotFound(t("recording.transmission.destroyed", id=transmission_id))
    record(
        db, principal, "export_download", camera.commune_insee, f"camera:{tr.camera_id}",
        transmission=tr.id, file=name,
    )  # fmt: skip
    db.commit()
    media = "video/mp4" if name == VIDEO_NAME else "application/json"
    return FileResponse(path, media_type=media, filename=f"vigie-{tr.id}-{name}")


@router.get("/recording/conditions", response_model=list[ConditionOut])
def get_conditions(_p: Supervisor, db: DbSession) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind,
            "message": c.message,
            "camera_id": c.camera_id,
            "commune_insee": c.commune_insee,
            "since": c.since,
        }
        for c in recording_conditions(db)
    ]
