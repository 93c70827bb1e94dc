"""Communes, cameras, live tickets and media status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from vigie.base.errors import NotFound
from vigie.base.i18n import t
from vigie.base.redact import redact_url, strip_credentials
from vigie.control import cameras as service
from vigie.control.access import AccessPolicy
from vigie.control.auditing import record
from vigie.control.deps import CurrentPrincipal, DbSession, Principal, get_settings, require_roles
from vigie.control.media_directory import MediaDirectory
from vigie.control.schemas import (
    CameraIn,
    CameraOut,
    CameraPatch,
    CommuneOut,
    MediaNodeOut,
    MediaStatsOut,
    PathId,
    SiteIn,
    SiteOut,
    StreamStatus,
    TicketIn,
    TicketOut,
    errors,
)
from vigie.domain import roles, tickets
from vigie.media.ingest import codec_label
from vigie.storage.db import session_now
from vigie.storage.models import Camera, Commune

router = APIRouter(prefix="/api", tags=["cameras"], responses=errors(401, 403))
CameraAdmin = Annotated[Principal, Depends(require_roles(*roles.CAMERA_ADMIN_ROLES))]


def media(request: Request) -> MediaDirectory:
    directory: MediaDirectory = request.app.state.media
    return directory


def policy(request: Request) -> AccessPolicy:
    p: AccessPolicy = request.app.state.access_policy
    return p


def _status(request: Request, camera: Camera) -> dict[str, StreamStatus]:
    out: dict[str, StreamStatus] = {}
    directory = media(request)
    node = directory.node_for(camera.id)
    for kind, url in (("main", camera.main_url), ("sub", camera.sub_url)):
        if not url:
            continue
        snap = directory.status_of(camera.id, kind)
        if not camera.enabled:
            out[kind] = StreamStatus(state="disabled")
        elif snap is None:
            state = "unavailable" if node.index in directory.node_errors else "starting"
            out[kind] = StreamStatus(
                state=state, message=t("media.unavailable") if state == "unavailable" else None
            )
        else:
            out[kind] = StreamStatus.model_validate(snap)
    return out


@router.get("/communes", response_model=list[CommuneOut])
def list_communes(_p: CurrentPrincipal, db: DbSession) -> list[CommuneOut]:
    counts = service.camera_counts(db=db)
    return [
        CommuneOut(
            insee_code=c.insee_code, name=c.name, population=c.population,
            population_year=c.population_year, lon=c.lon, lat=c.lat, cameras=counts.get(c.insee_code, 0),
        )
        for c in db.query(Commune).order_by(Commune.name)
    ]  # fmt: skip


@router.get("/communes/{insee_code}", response_model=CommuneOut, responses=errors(404))
def get_commune(insee_code: str, _p: CurrentPrincipal, db: DbSession) -> CommuneOut:
    c = db.get(Commune, insee_code)
    if c is None:
        raise NotFound(t("commune.unknown", code=insee_code))
    return CommuneOut(
        insee_code=c.insee_code, name=c.name, population=c.population,
        population_year=c.population_year, lon=c.lon, lat=c.lat,
        cameras=service.camera_counts(db=db).get(c.insee_code, 0),
    )  # fmt: skip


@router.get("/sites", response_model=list[SiteOut])
def list_sites(_p: CurrentPrincipal, db: DbSession, commune: str | None = None) -> list[SiteOut]:
    return [
        SiteOut.model_validate(s, from_attributes=True)
        for s in service.list_sites(db=db, commune=commune)
    ]


@router.post("/sites", response_model=SiteOut, status_code=201, responses=errors(422))
def create_site(body: SiteIn, _p: CameraAdmin, db: DbSession) -> SiteOut:
    return SiteOut.model_validate(service.create_site(db=db, data=body), from_attributes=True)


@router.get("/cameras", response_model=list[CameraOut])
def list_cameras(
    request: Request, principal: CurrentPrincipal, db: DbSession, commune: str | None = None
) -> list[CameraOut]:
    ids = policy(request).visible_camera_ids(db, principal)
    return [
        service.to_out(c, _status(request, c))
        for c in service.list_cameras(db=db, commune=commune, ids=ids)
    ]


@router.get("/cameras/{camera_id}", response_model=CameraOut, responses=errors(404))
def get_camera(
    camera_id: PathId, request: Request, principal: CurrentPrincipal, db: DbSession
) -> CameraOut:
    ids = policy(request).visible_camera_ids(db, principal)
    if ids is not None and camera_id not in ids:
        record(db, principal, "access_denied", None, f"camera:{camera_id}",
               details={"purpose": "rest", "reason": "not_visible"})  # fmt: skip
        db.commit()
        raise NotFound(t("camera.not_found"))
    camera = service.get_camera(db=db, camera_id=camera_id)
    return service.to_out(camera, _status(request, camera))


def _audit_config(
    db: DbSession, p: Principal, action: str, camera: Camera, body: CameraIn | CameraPatch | None
) -> None:
    """Audit a configuration change with the values as stored (credential-free URLs);
    credentials only as the fact that they were given."""
    db.flush()
    changes: dict[str, Any] = {}
    if body is not None:
        given = (
            body.model_fields_set if isinstance(body, CameraPatch) else set(type(body).model_fields)
        )
        changes = {k: getattr(camera, k) for k in sorted(given - {"username", "password"})}
        urls = [u for u in (body.main_url, body.sub_url) if u]
        if given & {"username", "password"} or any(strip_credentials(u)[1] for u in urls):
            changes["credentials"] = "given"
    record(db, p, action, camera.commune_insee, f"camera:{camera.id}",
           changes={k: redact_url(str(v)) for k, v in changes.items()})  # fmt: skip


@router.post("/cameras", response_model=CameraOut, status_code=201, responses=errors(422))
async def create_camera(
    body: CameraIn, request: Request, p: CameraAdmin, db: DbSession
) -> CameraOut:
    box = service.secret_box(get_settings(request))
    camera = service.create_camera(db=db, data=body, box=box)
    _audit_config(db, p, "camera_created", camera, body)
    db.commit()
    await request.app.state.sync_media()
    return service.to_out(camera, _status(request, camera))


@router.patch("/cameras/{camera_id}", response_model=CameraOut, responses=errors(404, 422))
async def update_camera(
    camera_id: PathId, body: CameraPatch, request: Request, p: CameraAdmin, db: DbSession
) -> CameraOut:
    box = service.secret_box(get_settings(request))
    camera = service.update_camera(db=db, camera_id=camera_id, patch=body, box=box)
    _audit_config(db, p, "camera_updated", camera, body)
    db.commit()
    await request.app.state.sync_media()
    return service.to_out(camera, _status(request, camera))


@router.delete("/cameras/{camera_id}", status_code=204, responses=errors(404))
async def delete_camera(camera_id: PathId, request: Request, p: CameraAdmin, db: DbSession) -> None:
    camera = service.get_camera(db=db, camera_id=camera_id)
    _audit_config(db, p, "camera_deleted", camera, None)
    db.delete(camera)
    db.commit()
    await request.app.state.sync_media()
    await media(request).revoke(camera_ids=[camera_id])


@router.post("/cameras/{camera_id}/tickets", response_model=TicketOut, responses=errors(404))
def issue_ticket(
    camera_id: PathId, body: TicketIn, request: Request, principal: CurrentPrincipal, db: DbSession
) -> TicketOut:
    """Issue a short-lived, single-use ticket to watch one stream, after the access check."""
    camera = policy(request).camera_for_images(db, principal, camera_id, body.purpose)
    stream = body.stream
    message = None
    if stream == "sub" and not camera.sub_url:
        stream, message = "main", t("stream.no_sub")
    settings = get_settings(request)
    ticket, token = tickets.issue(
        settings.secret_key, camera_id=camera.id, stream=stream, account_id=principal.account_id,
        commune=camera.commune_insee, now_s=session_now(db).timestamp(), ttl_s=settings.ticket_ttl_s, purpose=body.purpose,
    )  # fmt: skip
    record(
        db, principal, "live_start" if body.purpose == "live" else "snapshot",
        camera.commune_insee, f"camera:{camera.id}", body.reason, stream=stream, jti=ticket.jti,
    )  # fmt: skip
    directory = media(request)
    node = directory.node_for(camera.id)
    snap = directory.status_of(camera.id, stream) or {}
    codec = snap.get("codec")
    playable = codec in (None, "h264")
    if not playable:
        message = t("live.codec_unsupported", codec=codec_label(str(codec)))
    if body.purpose == "live":
        scheme = "wss" if request.url.scheme == "https" else "ws"
        path = f"/live/{camera.id}/{stream}"
    else:
        scheme = request.url.scheme
        path = f"/snapshot/{camera.id}/{stream}"
    url = directory.public_ws_url(node, request.headers.get("host", "127.0.0.1"), path, scheme)
    return TicketOut(
        ticket=token, url=f"{url}?ticket={token}", stream=stream,
        expires_at=datetime.fromtimestamp(ticket.exp, UTC), commune_insee=camera.commune_insee,
        codec=codec, live_playable=playable, message=message,
    )  # fmt: skip


@router.get("/media/stats", response_model=MediaStatsOut)
async def media_stats(request: Request, _p: CameraAdmin) -> MediaStatsOut:
    directory = media(request)
    streams = await directory.refresh_stats()
    nodes = [
        MediaNodeOut(index=n.index, port=n.port, error=directory.node_errors.get(n.index))
        for n in directory.nodes
    ]
    return MediaStatsOut.model_validate({"nodes": nodes, "streams": streams})
