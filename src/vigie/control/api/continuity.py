"""Continuity of service: the alarm queue, coverage plan, availability and
Prometheus metrics. Technical data only: no route here returns images."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from vigie.base.clock import paris_today
from vigie.base.errors import InvalidArgument, NotFound, PermissionDenied
from vigie.base.i18n import t
from vigie.continuity import alarms as service
from vigie.continuity.coverage import plan_for, set_staffed_windows
from vigie.continuity.health import availability, camera_conditions, commune_availability
from vigie.continuity.models import Alarm, CheckSettings, Contact
from vigie.continuity.references import reference_taken_at
from vigie.control.auditing import record
from vigie.control.deps import DbSession, Principal, get_settings, require_roles
from vigie.control.media_directory import MediaDirectory
from vigie.control.schemas import (
    PathId,
    PeriodOut,
    RecorderStats,
    WindowOut,
    errors,
)
from vigie.domain import roles
from vigie.domain.alarms import SEVERITIES
from vigie.domain.coverage import hours, metropolitan_view
from vigie.domain.imagecheck import Thresholds
from vigie.domain.schedule import WeeklyWindow
from vigie.storage.db import session_clock, session_now
from vigie.storage.models import AccountCommune, Camera, Commune

router = APIRouter(tags=["continuity"], responses=errors(401, 403))

CENTRE_ROLES = (roles.METRO_ADMIN, roles.CMSU_OPERATOR, roles.CMSU_SUPERVISOR)
COMMUNE_ROLES = (roles.COMMUNE_AUTHORITY, roles.COMMUNE_OPERATOR)
SUPERVISOR_ROLES = (*CENTRE_ROLES, *COMMUNE_ROLES)  # the alarm queue, coverage, settings
Supervisor = Annotated[Principal, Depends(require_roles(*SUPERVISOR_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(roles.METRO_ADMIN))]


class NoteOut(BaseModel):
    at: datetime
    actor: str
    action: str
    text: str


class AlarmOut(BaseModel):
    id: int
    key: str
    kind: str
    severity: str
    message: str
    camera_id: int | None
    commune_insee: str | None
    raised_at: datetime
    cleared_at: datetime | None
    is_open: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assigned_to: str | None
    escalation_level: int
    link: str | None
    notes: list[NoteOut]


class AssignIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=100)


class CommentIn(BaseModel):
    text: str = Field(max_length=4000)


class WindowIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = lundi … 6 = dimanche")
    start: str = Field(description="HH:MM, heure de Paris")
    end: str = Field(description="HH:MM ; inférieure au début = le lendemain")


Who = Literal["csu", "centre", "both", "none"]


class SlotOut(BaseModel):
    start: datetime
    who: Who


class CoverageOut(BaseModel):
    commune: str
    name: str
    week: date = Field(description="The Monday of the week shown.")
    staffed: list[WindowOut] = Field(description="Hours the commune's own CSU is staffed.")
    centre: list[WindowOut] = Field(description="Hours delegated to the centre.")
    slots: list[SlotOut] = Field(description="Every half-hour of the week, who covers it.")
    uncovered: list[PeriodOut]
    uncovered_hours: float


class StaffedOut(BaseModel):
    commune: str
    staffed: list[WindowOut]


class CommuneCoverageOut(BaseModel):
    commune: str
    now: Who
    tonight: bool = Field(description="Covered all night.")
    weekend: bool = Field(description="Covered all this weekend.")


class CameraAvailabilityOut(BaseModel):
    live_pct: float
    recording_pct: float | None = Field(description="None: no recording state in the period.")


class AvailabilityOut(BaseModel):
    cameras: dict[str, CameraAvailabilityOut] = Field(description="Keyed by camera id.")
    communes: dict[str, float] = Field(description="Mean live percentage, by INSEE code.")


class ContactOut(BaseModel):
    id: int
    commune_insee: str | None
    label: str
    email: str | None
    webhook_url: str | None
    has_secret: bool
    min_severity: str


class CreatedOut(BaseModel):
    id: int


class CheckSettingsOut(BaseModel):
    camera_id: int
    name: str
    commune_insee: str
    configured: bool
    enabled: bool
    close_up: bool
    fast_moving: bool
    thresholds: dict[str, float] = Field(description="The camera's own, only those set.")
    defaults: dict[str, float]
    effective: dict[str, float] = Field(description="What the checks use.")
    reference_requested_at: datetime | None
    reference_taken_at: datetime | None
    reference_pending: bool


class ReferenceOut(BaseModel):
    camera_id: int
    requested_at: datetime


class HealthStatsOut(BaseModel):
    state: str | None = None
    fps: float | None = None
    bitrate_kbps: float | None = None
    gop_frames: int | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    last_packet_age_s: float | None = None
    reconnects: int | None = None
    message: str | None = None
    recording: RecorderStats | None = None
    clock_drift_s: float | None = None


class ProblemOut(BaseModel):
    kind: str
    message: str


class CameraHealthOut(BaseModel):
    camera_id: int
    name: str
    commune_insee: str
    stats: HealthStatsOut | None = Field(description="None: no figures from its media process.")
    problems: list[ProblemOut]


class ProcessHealthOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the media process's own figures
    up: bool


class HealthOut(BaseModel):
    cameras: list[CameraHealthOut]
    processes: dict[str, ProcessHealthOut] = Field(description="Keyed media-0, media-1…")


def _communes_in_scope(db: DbSession, principal: Principal) -> set[str] | None:
    """None: every commune (the centre); else the account's communes."""
    if principal.role in CENTRE_ROLES:
        return None
    return set(
        db.scalars(
            select(AccountCommune.commune_insee).where(
                AccountCommune.account_id == principal.account_id
            )
        )
    )


def _alarm_out(a: Alarm) -> AlarmOut:
    return AlarmOut(
        id=a.id,
        key=a.key,
        kind=a.kind,
        severity=a.severity,
        message=a.message,
        camera_id=a.camera_id,
        commune_insee=a.commune_insee,
        raised_at=a.raised_at,
        cleared_at=a.cleared_at,
        is_open=a.is_open,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        assigned_to=a.assigned_to,
        escalation_level=a.escalation_level,
        link=service.camera_link(a.camera_id, a.raised_at) if a.camera_id else None,
        notes=[NoteOut(at=n.at, actor=n.actor, action=n.action, text=n.text) for n in a.notes],
    )


def _alarm_in_scope(db: DbSession, principal: Principal, alarm_id: int) -> Alarm:
    alarm = db.get(Alarm, alarm_id)
    scope = _communes_in_scope(db, principal)
    if alarm is None or (scope is not None and alarm.commune_insee not in scope):
        raise NotFound(t("continuity.alarm.not_found", alarm_id=alarm_id))
    return alarm


@router.get("/api/continuity/alarms", response_model=list[AlarmOut])
def list_alarms(
    db: DbSession,
    principal: Supervisor,
    open_only: bool = True,
    limit: int = Query(200, ge=1, le=1000),
) -> list[AlarmOut]:
    query = select(Alarm).order_by(Alarm.is_open.desc(), Alarm.raised_at.desc()).limit(limit)
    if open_only:
        query = query.where(Alarm.is_open.is_(True))
    scope = _communes_in_scope(db, principal)
    if scope is not None:
        query = query.where(Alarm.commune_insee.in_(scope))
    return [_alarm_out(a) for a in db.scalars(query)]


@router.post(
    "/api/continuity/alarms/{alarm_id}/ack", response_model=AlarmOut, responses=errors(404)
)
def ack_alarm(alarm_id: PathId, db: DbSession, principal: Supervisor) -> AlarmOut:
    _alarm_in_scope(db, principal, alarm_id)
    now = session_now(db)
    return _alarm_out(service.acknowledge(db, alarm_id=alarm_id, actor=principal.username, now=now))


@router.post(
    "/api/continuity/alarms/{alarm_id}/assign", response_model=AlarmOut, responses=errors(404)
)
def assign_alarm(
    alarm_id: PathId, body: AssignIn, db: DbSession, principal: Supervisor
) -> AlarmOut:
    _alarm_in_scope(db, principal, alarm_id)
    alarm = service.assign(
        db,
        alarm_id=alarm_id,
        actor=principal.username,
        assignee=body.assignee,
        now=session_now(db),
    )
    return _alarm_out(alarm)


@router.post(
    "/api/continuity/alarms/{alarm_id}/comment", response_model=AlarmOut, responses=errors(404)
)
def comment_alarm(
    alarm_id: PathId, body: CommentIn, db: DbSession, principal: Supervisor
) -> AlarmOut:
    _alarm_in_scope(db, principal, alarm_id)
    alarm = service.comment(
        db, alarm_id=alarm_id, actor=principal.username, text=body.text, now=session_now(db)
    )
    return _alarm_out(alarm)


def _parse_week(week: str | None, today: date) -> date:
    if week is None:
        return today - timedelta(days=today.weekday())
    try:
        day = date.fromisoformat(week)
    except ValueError as exc:
        raise InvalidArgument(t("continuity.err.week", value=repr(week)), field="week") from exc
    return day - timedelta(days=day.weekday())


def coverage_of(db: DbSession, insee: str, week: str | None) -> dict[str, Any]:
    commune = db.get(Commune, insee)
    if commune is None:
        raise NotFound(t("commune.unknown", code=insee))
    monday = _parse_week(week, paris_today(session_clock(db)))
    plan = plan_for(db, insee)
    slots = plan.week_chart(monday)
    start, end = slots[0].start, slots[-1].start + timedelta(minutes=30)
    gaps = plan.uncovered(start, end)
    return {
        "commune": insee,
        "name": commune.name,
        "week": monday.isoformat(),
        "staffed": [w.to_json() for w in plan.staffed],
        "centre": [w.to_json() for w in plan.centre],
        "slots": [{"start": s.start.isoformat(), "who": s.who} for s in slots],
        "uncovered": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in gaps],
        "uncovered_hours": round(hours(gaps), 2),
    }


@router.get(
    "/api/continuity/coverage/{insee}", response_model=CoverageOut, responses=errors(404, 422)
)
def get_coverage(insee: str, db: DbSession, _p: Supervisor, week: str | None = None) -> CoverageOut:
    return CoverageOut.model_validate(coverage_of(db, insee, week))


@router.put(
    "/api/continuity/coverage/{insee}/staffed", response_model=StaffedOut, responses=errors(404)
)
def put_staffed(insee: str, body: list[WindowIn], db: DbSession, _p: Admin) -> StaffedOut:
    if db.get(Commune, insee) is None:
        raise NotFound(t("commune.unknown", code=insee))
    windows = [WeeklyWindow.of(w.weekday, w.start, w.end) for w in body]
    set_staffed_windows(db, insee, windows)
    return StaffedOut.model_validate({"commune": insee, "staffed": [w.to_json() for w in windows]})


def metropolitan(db: DbSession, now: datetime) -> list[dict[str, object]]:
    communes = sorted(set(db.scalars(select(Camera.commune_insee))))
    return metropolitan_view({c: plan_for(db, c) for c in communes}, now)


@router.get("/api/continuity/coverage", response_model=list[CommuneCoverageOut])
def get_metropolitan(db: DbSession, _p: Supervisor) -> list[CommuneCoverageOut]:
    return [CommuneCoverageOut.model_validate(row) for row in metropolitan(db, session_now(db))]


@router.get("/api/continuity/availability", response_model=AvailabilityOut)
def get_availability(
    db: DbSession, principal: Supervisor, start: datetime, end: datetime
) -> AvailabilityOut:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidArgument(t("continuity.err.naive", field=name), field=name)
    if end <= start:
        raise InvalidArgument(t("continuity.err.end_before_start"), field="end")
    scope = _communes_in_scope(db, principal)
    cams = list(db.scalars(select(Camera)))
    if scope is not None:
        cams = [c for c in cams if c.commune_insee in scope]
    per = availability(db, camera_ids=[c.id for c in cams], start=start, end=end)
    by_commune: dict[str, dict[int, Any]] = {}
    for c in cams:
        by_commune.setdefault(c.commune_insee, {})[c.id] = per[c.id]
    return AvailabilityOut(
        cameras={
            str(cid): CameraAvailabilityOut(live_pct=a.live_pct, recording_pct=a.recording_pct)
            for cid, a in per.items()
        },
        communes={k: commune_availability(v) for k, v in by_commune.items()},
    )


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, db: DbSession) -> Response:
    """Prometheus text format for the IT team. Access: ``Authorization:
    Bearer <VIGIE_METRICS_TOKEN>``, or from 127.0.0.1 when no token is set."""
    settings = get_settings(request)
    token = settings.metrics_token
    if token:
        if request.headers.get("authorization", "") != f"Bearer {token}":
            raise PermissionDenied(t("continuity.metrics.forbidden"))
    elif request.client is None or request.client.host not in ("127.0.0.1", "::1", "testclient"):
        raise PermissionDenied(t("continuity.metrics.forbidden"))
    directory: MediaDirectory = request.app.state.media
    reg = CollectorRegistry()
    labels = ["camera", "commune"]
    up = Gauge("vigie_camera_up", "1 when the camera's main stream is online", labels, registry=reg)
    fps = Gauge("vigie_camera_fps", "Measured frames per second", labels, registry=reg)
    kbps = Gauge("vigie_camera_bitrate_kbps", "Measured bitrate", labels, registry=reg)
    age = Gauge("vigie_camera_last_picture_age_seconds", "Age of last packet", labels, registry=reg)
    reconnects = Gauge("vigie_camera_reconnects", "Reconnections since start", labels, registry=reg)
    lag = Gauge("vigie_camera_recording_lag_seconds", "Recording lag", labels, registry=reg)
    for cam in db.scalars(select(Camera)):
        snap = directory.status_of(cam.id, "main") or {}
        lv = (str(cam.id), cam.commune_insee)
        up.labels(*lv).set(1 if snap.get("state") == "online" else 0)
        fps.labels(*lv).set(float(snap.get("fps") or 0))
        kbps.labels(*lv).set(float(snap.get("bitrate_kbps") or 0))
        if snap.get("last_packet_age_s") is not None:
            age.labels(*lv).set(float(snap["last_packet_age_s"]))
        reconnects.labels(*lv).set(float(snap.get("reconnects") or 0))
        rec = snap.get("recording")
        if isinstance(rec, dict) and rec.get("lag_s") is not None:
            lag.labels(*lv).set(float(rec["lag_s"]))
    proc_up = Gauge("vigie_media_process_up", "1 when reachable", ["process"], registry=reg)
    cpu = Gauge("vigie_media_process_cpu_seconds", "CPU time used", ["process"], registry=reg)
    rss = Gauge("vigie_media_process_rss_megabytes", "Resident memory", ["process"], registry=reg)
    for node in directory.nodes:
        name = f"media-{node.index}"
        proc_up.labels(name).set(0 if node.index in directory.node_errors else 1)
        p = directory.last_process.get(node.index)
        if p:
            cpu.labels(name).set(float(p.get("cpu_s") or 0))
            rss.labels(name).set(float(p.get("rss_mb") or 0))
    open_alarms = Gauge("vigie_alarms_open", "Open alarms", ["severity"], registry=reg)
    for sev in ("info", "warning", "critical"):
        open_alarms.labels(sev).set(0)
    for alarm in service.open_alarms(db):
        open_alarms.labels(alarm.severity).inc()
    return Response(generate_latest(reg), media_type=CONTENT_TYPE_LATEST)


class ContactIn(BaseModel):
    commune_insee: str | None = Field(None, description="None: the centre")
    label: str = Field("", max_length=200)
    email: str | None = Field(None, max_length=300)
    webhook_url: str | None = Field(None, max_length=1000)
    webhook_secret: str | None = Field(None, max_length=200)  # 16 or more: checked below
    min_severity: str = "warning"


# One address, no spaces, a dot in the domain: what a mail server will accept
# as a recipient; deliverability is the notifier's affair.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class CheckSettingsIn(BaseModel):
    enabled: bool = True
    close_up: bool = False
    fast_moving: bool = False
    thresholds: dict[str, float] = Field(default_factory=dict)


@router.get("/api/continuity/contacts", response_model=list[ContactOut])
def list_contacts(db: DbSession, _p: Admin) -> list[ContactOut]:
    return [
        ContactOut(
            id=c.id,
            commune_insee=c.commune_insee,
            label=c.label,
            email=c.email,
            webhook_url=c.webhook_url,
            has_secret=bool(c.webhook_secret),
            min_severity=c.min_severity,
        )
        for c in db.scalars(select(Contact).order_by(Contact.id))
    ]


@router.post(
    "/api/continuity/contacts", response_model=CreatedOut, status_code=201, responses=errors(404)
)
def add_contact(body: ContactIn, db: DbSession, principal: Admin) -> CreatedOut:
    if body.commune_insee is not None and db.get(Commune, body.commune_insee) is None:
        raise NotFound(t("commune.unknown", code=body.commune_insee))
    if not body.email and not body.webhook_url:
        raise InvalidArgument(t("continuity.err.contact_empty"), field="email")
    if body.email and not EMAIL.fullmatch(body.email):
        raise InvalidArgument(t("continuity.err.email", value=repr(body.email)), field="email")
    if body.webhook_url:
        if not body.webhook_url.startswith(("https://", "http://")):
            raise InvalidArgument(t("continuity.err.webhook_url"), field="webhook_url")
        if not body.webhook_secret or len(body.webhook_secret) < 16:
            raise InvalidArgument(
                t("continuity.err.webhook_secret"),
                field="webhook_secret",
            )
    if body.min_severity not in SEVERITIES:
        raise InvalidArgument(
            t(
                "continuity.err.severity",
                field="min_severity",
                value=repr(body.min_severity),
                allowed=", ".join(SEVERITIES),
            ),
            field="min_severity",
        )
    contact = Contact(**body.model_dump())
    db.add(contact)
    db.flush()
    record(db, principal, "continuity.contact.add", body.commune_insee, f"contact:{contact.id}")
    return CreatedOut(id=contact.id)


@router.delete("/api/continuity/contacts/{contact_id}", status_code=204, responses=errors(404))
def delete_contact(contact_id: PathId, db: DbSession, principal: Admin) -> Response:
    contact = db.get(Contact, contact_id)
    if contact is None:
        raise NotFound(t("continuity.err.contact_not_found", contact_id=contact_id))
    record(
        db, principal, "continuity.contact.delete", contact.commune_insee, f"contact:{contact_id}"
    )
    db.delete(contact)
    return Response(status_code=204)


def _camera_in_scope(db: DbSession, principal: Principal, camera_id: int) -> Camera:
    camera = db.get(Camera, camera_id)
    scope = _communes_in_scope(db, principal)
    if camera is None or (scope is not None and camera.commune_insee not in scope):
        raise NotFound(t("camera.not_found"))
    return camera


def check_settings_of(db: DbSession, data_dir: Path, camera: Camera) -> dict[str, Any]:
    """A camera's image-check settings as the page shows them: its own
    thresholds (only those set), the defaults, and what the checks use."""
    cs = db.get(CheckSettings, camera.id)
    own = {k: float(v) for k, v in (cs.thresholds if cs else {}).items()}
    defaults = asdict(Thresholds())
    taken = reference_taken_at(data_dir, camera.id)
    requested = cs.reference_requested_at if cs else None
    return {
        "camera_id": camera.id,
        "name": camera.name,
        "commune_insee": camera.commune_insee,
        "configured": cs is not None,
        "enabled": cs.enabled if cs else True,
        "close_up": cs.close_up if cs else False,
        "fast_moving": cs.fast_moving if cs else False,
        "thresholds": own,
        "defaults": defaults,
        "effective": defaults | own,
        "reference_requested_at": requested.isoformat() if requested else None,
        "reference_taken_at": taken.isoformat() if taken else None,
        # Asked for and not yet taken: the checks process takes the next keyframe.
        "reference_pending": requested is not None and (taken is None or requested > taken),
    }


@router.get(
    "/api/continuity/cameras/{camera_id}/checks",
    response_model=CheckSettingsOut,
    responses=errors(404),
)
def get_check_settings(
    camera_id: PathId, request: Request, db: DbSession, principal: Supervisor
) -> CheckSettingsOut:
    camera = _camera_in_scope(db, principal, camera_id)
    return CheckSettingsOut.model_validate(
        check_settings_of(db, get_settings(request).data_dir, camera)
    )


@router.put(
    "/api/continuity/cameras/{camera_id}/checks",
    response_model=CheckSettingsOut,
    responses=errors(404),
)
def put_check_settings(
    camera_id: PathId, body: CheckSettingsIn, request: Request, db: DbSession, principal: Admin
) -> CheckSettingsOut:
    camera = db.get(Camera, camera_id)
    if camera is None:
        raise NotFound(t("camera.not_found"))
    Thresholds.from_json(dict(body.thresholds))  # refuses unknown keys and nonsense
    cs = db.get(CheckSettings, camera_id) or CheckSettings(camera_id=camera_id)
    cs.enabled, cs.close_up, cs.fast_moving = body.enabled, body.close_up, body.fast_moving
    cs.thresholds = dict(body.thresholds)
    db.add(cs)
    db.flush()
    record(
        db,
        principal,
        "continuity.checks.set",
        camera.commune_insee,
        f"camera:{camera_id}",
        details=body.model_dump(),
    )
    return CheckSettingsOut.model_validate(
        check_settings_of(db, get_settings(request).data_dir, camera)
    )


@router.post(
    "/api/continuity/cameras/{camera_id}/reference",
    response_model=ReferenceOut,
    status_code=202,
    responses=errors(404),
)
def refresh_reference(camera_id: PathId, db: DbSession, principal: Supervisor) -> ReferenceOut:
    """The camera's current view becomes its reference (after a deliberate
    re-aim); the checks process takes it on its next keyframe."""
    camera = _camera_in_scope(db, principal, camera_id)
    now = session_now(db)
    cs = db.get(CheckSettings, camera_id) or CheckSettings(camera_id=camera_id)
    cs.reference_requested_at = now
    db.add(cs)
    record(
        db, principal, "continuity.reference.refresh", camera.commune_insee,
        f"camera:{camera_id}", at=now,
    )  # fmt: skip
    return ReferenceOut(camera_id=camera_id, requested_at=now)


@router.get("/api/continuity/health", response_model=HealthOut)
def get_health(request: Request, db: DbSession, principal: Supervisor) -> HealthOut:
    """Current health per camera (main stream, with recording if reported)
    and per media process."""
    directory: MediaDirectory = request.app.state.media
    scope = _communes_in_scope(db, principal)
    settings = {s.camera_id: s for s in db.scalars(select(CheckSettings))}
    keep = (
        "state",
        "fps",
        "bitrate_kbps",
        "gop_frames",
        "width",
        "height",
        "codec",
        "last_packet_age_s",
        "reconnects",
        "message",
        "recording",
        "clock_drift_s",
    )
    cameras = []
    for cam in db.scalars(select(Camera).order_by(Camera.id)):
        if scope is not None and cam.commune_insee not in scope:
            continue
        snap = directory.status_of(cam.id, "main")
        cs = settings.get(cam.id)
        problems = camera_conditions(
            cam.id,
            cam.name,
            snap,
            close_up=bool(cs and cs.close_up),
            fast_moving=bool(cs and cs.fast_moving),
        )
        cameras.append(
            {
                "camera_id": cam.id,
                "name": cam.name,
                "commune_insee": cam.commune_insee,
                "stats": {k: snap.get(k) for k in keep} if snap else None,
                "problems": [{"kind": p.kind, "message": p.message} for p in problems],
            }
        )
    processes = {
        f"media-{n.index}": {
            "up": n.index not in directory.node_errors,
            **(directory.last_process.get(n.index) or {}),
        }
        for n in directory.nodes
    }
    return HealthOut.model_validate({"cameras": cameras, "processes": processes})
