"""Rights administration: prefectoral authorisations, agréments, delegations,
accounts (disable, sign out everywhere) and the audit log export.

Who may do what:
* authorisations and agréments are recorded by the metropolitan administrator
  (they are the prefect's decisions, entered from the orders);
* a commune authority (mayor or delegated deputy) grants and revokes its
  commune's delegations — and only its own; the administrator may too;
* the audit log is read by auditors and administrators (every commune) and by
  a commune authority (its communes).

Every change is written to the audit log; a change that ends a right closes
open sessions at once (the session watch runs immediately).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.control.api.auth import sign_out_everywhere
from vigie.control.auditing import record
from vigie.control.authority import (
    AGREMENT_ROLES,
    GRANTEES,
    Grants,
    agrement_valid,
    authorisation_valid,
    expiry_alerts,
    five_years_after,
    paris_day,
)
from vigie.control.deps import CurrentPrincipal, DbSession, Principal, require_roles
from vigie.control.schemas import (
    INSEE_PATTERN,
    BodyId,
    PathId,
    PeriodOut,
    WindowOut,
    attachment,
    errors,
)
from vigie.domain import roles
from vigie.domain.retention import validate_retention
from vigie.domain.schedule import Span, WeeklyWindow
from vigie.storage.db import session_now
from vigie.storage.delegations import delegation_rule
from vigie.storage.models import (
    Account,
    Agrement,
    AgrementAuthorisation,
    AuditEntry,
    Authorisation,
    Camera,
    Commune,
    Delegation,
    DelegationCamera,
)

router = APIRouter(prefix="/api", tags=["authority"], responses=errors(401, 403))

Admin = Annotated[Principal, Depends(require_roles(roles.METRO_ADMIN))]
Granting = Annotated[Principal, Depends(require_roles(roles.METRO_ADMIN, roles.COMMUNE_AUTHORITY))]
AuditReader = Annotated[
    Principal, Depends(require_roles(roles.AUDITOR, roles.METRO_ADMIN, roles.COMMUNE_AUTHORITY))
]


def _communes_of(db: DbSession, p: Principal) -> set[str] | None:
    """Communes a commune authority acts for; None = every commune (administrator)."""
    if p.role == roles.METRO_ADMIN or p.role == roles.AUDITOR:
        return None
    return set(Grants.load(db, p.account_id).communes)


def _check_commune(db: DbSession, p: Principal, commune: str) -> None:
    if db.get(Commune, commune) is None:
        raise InvalidArgument(t("authority.commune_unknown", code=commune), field="commune_insee")
    scope = _communes_of(db, p)
    if scope is not None and commune not in scope:
        raise NotFound(t("authority.not_in_scope"))


async def _recheck(request: Request) -> None:
    await request.app.state.session_watch.run_once()


# --- prefectoral authorisations ---------------------------------------------------


class AuthorisationIn(BaseModel):
    commune_insee: str = Field(min_length=5, max_length=5)
    number: str = Field(min_length=1, max_length=100)
    issued_on: date
    expires_on: date | None = Field(None, description="Default: 5 years after issued_on.")
    purposes: list[str] = []
    retention_min_days: int = 0
    retention_max_days: int
    recipients: list[str] = []
    camera_ids: list[BodyId] = []


class AuthorisationOut(BaseModel):
    id: int
    commune_insee: str
    number: str
    issued_on: date
    expires_on: date
    purposes: list[str]
    retention_min_days: int
    retention_max_days: int
    recipients: list[str]
    camera_ids: list[int]
    valid_today: bool


def _auth_out(db: DbSession, a: Authorisation) -> AuthorisationOut:
    cams = list(db.scalars(select(Camera.id).where(Camera.authorisation_id == a.id)))
    return AuthorisationOut(
        id=a.id, commune_insee=a.commune_insee, number=a.number, issued_on=a.issued_on,
        expires_on=a.expires_on, purposes=a.purposes, retention_min_days=a.retention_min_days,
        retention_max_days=a.retention_max_days, recipients=a.recipients, camera_ids=cams,
        valid_today=authorisation_valid(a, session_now(db)),
    )  # fmt: skip


@router.get("/authorisations", response_model=list[AuthorisationOut])
def list_authorisations(p: CurrentPrincipal, db: DbSession) -> list[AuthorisationOut]:
    scope = _communes_of(db, p)
    rows = db.scalars(select(Authorisation).order_by(Authorisation.expires_on))
    return [_auth_out(db, a) for a in rows if scope is None or a.commune_insee in scope]


@router.post(
    "/authorisations", response_model=AuthorisationOut, status_code=201, responses=errors(404)
)
async def create_authorisation(
    body: AuthorisationIn, request: Request, p: Admin, db: DbSession
) -> AuthorisationOut:
    _check_commune(db, p, body.commune_insee)
    validate_retention(body.retention_min_days, body.retention_max_days)
    limit = five_years_after(body.issued_on)
    expires = body.expires_on or limit
    if expires <= body.issued_on:
        raise InvalidArgument(
            t("authority.authorisation_dates", issued=body.issued_on.isoformat()),
            field="expires_on",
        )
    if expires > limit:
        raise InvalidArgument(
            t("authority.authorisation_too_long", max=limit.isoformat()), field="expires_on"
        )
    if db.scalar(select(Authorisation).where(Authorisation.number == body.number)):
        raise InvalidArgument(t("authority.number_taken", number=body.number), field="number")
    a = Authorisation(
        commune_insee=body.commune_insee, number=body.number, issued_on=body.issued_on,
        expires_on=expires, purposes=body.purposes, retention_min_days=body.retention_min_days,
        retention_max_days=body.retention_max_days, recipients=body.recipients,
    )  # fmt: skip
    db.add(a)
    db.flush()
    _link_cameras(db, a, body.camera_ids)
    record(db, p, "authorisation_created", a.commune_insee, f"authorisation:{a.id}",
         number=a.number, expires_on=expires.isoformat(), cameras=body.camera_ids)  # fmt: skip
    db.commit()
    await _recheck(request)
    return _auth_out(db, a)


def _link_cameras(db: DbSession, a: Authorisation, camera_ids: list[int]) -> None:
    for cid in camera_ids:
        cam = db.get(Camera, cid)
        if cam is None or cam.commune_insee != a.commune_insee:
            raise InvalidArgument(
                t("authority.camera_other_commune", camera=cid), field="camera_ids"
            )
        cam.authorisation_id = a.id


class CamerasIn(BaseModel):
    camera_ids: list[BodyId]


@router.put(
    "/authorisations/{auth_id}/cameras", response_model=AuthorisationOut, responses=errors(404)
)
async def set_authorisation_cameras(
    auth_id: PathId, body: CamerasIn, request: Request, p: Admin, db: DbSession
) -> AuthorisationOut:
    a = db.get(Authorisation, auth_id)
    if a is None:
        raise NotFound(t("authority.authorisation_not_found"))
    for cam in db.scalars(select(Camera).where(Camera.authorisation_id == a.id)):
        if cam.id not in body.camera_ids:
            cam.authorisation_id = None
    _link_cameras(db, a, body.camera_ids)
    record(db, p, "authorisation_cameras", a.commune_insee, f"authorisation:{a.id}",
         cameras=body.camera_ids)  # fmt: skip
    db.commit()
    await _recheck(request)
    return _auth_out(db, a)


class ExpiryAlertOut(BaseModel):
    authorisation_id: int
    number: str
    commune_insee: str
    expires_on: date
    days_left: int = Field(description="Negative once expired.")
    level: str = Field(description="expired, J-30, J-90 or J-180")


class UnservedCameraOut(BaseModel):
    camera_id: int
    name: str
    commune_insee: str
    authorisation_id: int | None


class AlertsOut(BaseModel):
    authorisations: list[ExpiryAlertOut]
    cameras_without_valid_authorisation: list[UnservedCameraOut]


@router.get("/authorisations/alerts", response_model=AlertsOut)
def authorisation_alerts(p: CurrentPrincipal, db: DbSession) -> AlertsOut:
    """Expiry alerts at 180, 90 and 30 days, and cameras whose images are not served."""
    scope = _communes_of(db, p)
    today = paris_day(session_now(db))
    auths = [
        a for a in db.scalars(select(Authorisation)) if scope is None or a.commune_insee in scope
    ]
    flagged = [
        UnservedCameraOut(camera_id=c.id, name=c.name, commune_insee=c.commune_insee,
                          authorisation_id=c.authorisation_id)
        for c in db.scalars(select(Camera).order_by(Camera.id))
        if (scope is None or c.commune_insee in scope)
        and not authorisation_valid(c.authorisation, session_now(db))
    ]  # fmt: skip
    alerts = [ExpiryAlertOut.model_validate(a) for a in expiry_alerts(auths, today)]
    return AlertsOut(authorisations=alerts,
                     cameras_without_valid_authorisation=flagged)  # fmt: skip


# --- agréments ---------------------------------------------------------------------


class AgrementIn(BaseModel):
    account_id: BodyId
    reference: str = Field(min_length=1, max_length=100)
    issued_on: date
    vetted_on: date
    expires_on: date
    authorisation_ids: list[BodyId] = []


class AgrementPatch(BaseModel):
    status: Literal["valid", "suspended", "withdrawn"] | None = None
    status_reason: str | None = Field(None, max_length=1000)
    expires_on: date | None = None
    vetted_on: date | None = None
    authorisation_ids: list[BodyId] | None = None


class AgrementOut(BaseModel):
    id: int
    account_id: int
    reference: str
    issued_on: date
    vetted_on: date
    expires_on: date
    status: str
    status_reason: str
    authorisation_ids: list[int]
    valid_now: bool


def _ag_out(db: DbSession, ag: Agrement) -> AgrementOut:
    return AgrementOut(
        id=ag.id, account_id=ag.account_id, reference=ag.reference, issued_on=ag.issued_on,
        vetted_on=ag.vetted_on, expires_on=ag.expires_on, status=ag.status,
        status_reason=ag.status_reason,
        authorisation_ids=sorted(a.authorisation_id for a in ag.authorisations),
        valid_now=agrement_valid(ag, session_now(db)),
    )  # fmt: skip


def _set_covered(db: DbSession, ag: Agrement, ids: list[int]) -> None:
    for aid in ids:
        if db.get(Authorisation, aid) is None:
            raise InvalidArgument(t("authority.authorisation_not_found"), field="authorisation_ids")
    ag.authorisations = [AgrementAuthorisation(authorisation_id=aid) for aid in sorted(set(ids))]


@router.get("/agrements", response_model=list[AgrementOut])
def list_agrements(_p: Admin, db: DbSession) -> list[AgrementOut]:
    return [_ag_out(db, a) for a in db.scalars(select(Agrement).order_by(Agrement.id))]


@router.post("/agrements", response_model=AgrementOut, status_code=201)
def create_agrement(body: AgrementIn, p: Admin, db: DbSession) -> AgrementOut:
    account = db.get(Account, body.account_id)
    if account is None:
        raise InvalidArgument(t("authority.account_not_found"), field="account_id")
    if account.role not in AGREMENT_ROLES:
        raise InvalidArgument(t("authority.agrement_role", role=account.role), field="account_id")
    if body.expires_on <= body.issued_on:
        raise InvalidArgument(t("authority.agrement_dates"), field="expires_on")
    if db.scalar(select(Agrement).where(Agrement.reference == body.reference)):
        raise InvalidArgument(t("authority.reference_taken", reference=body.reference),
                              field="reference")  # fmt: skip
    ag = Agrement(account_id=body.account_id, reference=body.reference, issued_on=body.issued_on,
                  vetted_on=body.vetted_on, expires_on=body.expires_on)  # fmt: skip
    _set_covered(db, ag, body.authorisation_ids)
    db.add(ag)
    db.flush()
    record(db, p, "agrement_created", None, f"account:{account.username}", reference=ag.reference,
         expires_on=ag.expires_on.isoformat(), authorisations=body.authorisation_ids)  # fmt: skip
    return _ag_out(db, ag)


@router.patch("/agrements/{agrement_id}", response_model=AgrementOut, responses=errors(404))
async def update_agrement(
    agrement_id: PathId, body: AgrementPatch, request: Request, p: Admin, db: DbSession
) -> AgrementOut:
    """Suspend, withdraw, renew: a change that ends a right closes open sessions at once."""
    ag = db.get(Agrement, agrement_id)
    if ag is None:
        raise NotFound(t("authority.agrement_not_found"))
    changes = body.model_dump(exclude_unset=True)
    if body.status is not None:
        ag.status = body.status
    if body.status_reason is not None:
        ag.status_reason = body.status_reason
    if body.expires_on is not None:
        ag.expires_on = body.expires_on
    if body.vetted_on is not None:
        ag.vetted_on = body.vetted_on
    if body.authorisation_ids is not None:
        _set_covered(db, ag, body.authorisation_ids)
    record(db, p, "agrement_updated", None, f"agrement:{ag.reference}",
         reason=body.status_reason or "", changes={k: str(v) for k, v in changes.items()})  # fmt: skip
    db.commit()
    await _recheck(request)
    return _ag_out(db, ag)


# --- delegations -------------------------------------------------------------------


class WindowIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = lundi … 6 = dimanche")
    start: str = Field(examples=["20:00"])
    end: str = Field(examples=["08:00"])


class SpanIn(BaseModel):
    start: datetime
    end: datetime


class DelegationIn(BaseModel):
    commune_insee: str = Field(min_length=5, max_length=5)
    grantee: str = "cmsu"
    label: str = Field("", max_length=200)
    all_cameras: bool = True
    camera_ids: list[BodyId] = []
    windows: list[WindowIn] = []
    spans: list[SpanIn] = []


class DelegationOut(BaseModel):
    id: int
    commune_insee: str
    grantee: str
    label: str
    all_cameras: bool
    camera_ids: list[int]
    windows: list[WindowOut]
    windows_fr: list[str]
    spans: list[PeriodOut]
    created_at: datetime
    revoked_at: datetime | None
    revoke_reason: str


def _del_out(d: Delegation) -> DelegationOut:
    windows, _ = delegation_rule(d)
    return DelegationOut(
        id=d.id, commune_insee=d.commune_insee, grantee=d.grantee, label=d.label,
        all_cameras=d.all_cameras, camera_ids=sorted(c.camera_id for c in d.cameras),
        windows=d.windows, windows_fr=[w.label_fr() for w in windows], spans=d.spans,
        created_at=d.created_at, revoked_at=d.revoked_at, revoke_reason=d.revoke_reason,
    )  # fmt: skip


@router.get("/delegations", response_model=list[DelegationOut])
def list_delegations(
    p: CurrentPrincipal, db: DbSession, commune: str | None = None
) -> list[DelegationOut]:
    scope = _communes_of(db, p)
    if p.role not in (roles.METRO_ADMIN, roles.COMMUNE_AUTHORITY, roles.AUDITOR,
                      roles.CMSU_SUPERVISOR, roles.CMSU_OPERATOR):  # fmt: skip
        scope = set()
    if p.role in (roles.CMSU_SUPERVISOR, roles.CMSU_OPERATOR):
        scope = None  # the centre sees what it was handed
    stmt = select(Delegation).order_by(Delegation.id)
    if commune:
        stmt = stmt.where(Delegation.commune_insee == commune)
    return [_del_out(d) for d in db.scalars(stmt) if scope is None or d.commune_insee in scope]


@router.post("/delegations", response_model=DelegationOut, status_code=201, responses=errors(404))
async def create_delegation(
    body: DelegationIn, request: Request, p: Granting, db: DbSession
) -> DelegationOut:
    _check_commune(db, p, body.commune_insee)
    if body.grantee not in GRANTEES:
        raise InvalidArgument(t("authority.delegation_grantee"), field="grantee")
    if not body.windows and not body.spans:
        raise InvalidArgument(t("authority.delegation_empty"), field="windows")
    windows = [WeeklyWindow.of(w.weekday, w.start, w.end) for w in body.windows]
    spans = [Span(s.start, s.end) for s in body.spans]
    if not body.all_cameras and not body.camera_ids:
        raise InvalidArgument(t("authority.delegation_cameras"), field="camera_ids")
    for cid in body.camera_ids:
        cam = db.get(Camera, cid)
        if cam is None or cam.commune_insee != body.commune_insee:
            raise InvalidArgument(t("authority.camera_other_commune", camera=cid),
                                  field="camera_ids")  # fmt: skip
    d = Delegation(
        commune_insee=body.commune_insee, grantee=body.grantee, label=body.label,
        all_cameras=body.all_cameras, windows=[w.to_json() for w in windows],
        spans=[{"start": s.start.astimezone(UTC).isoformat(), "end": s.end.astimezone(UTC).isoformat()}
               for s in spans],
        created_by=p.account_id, created_at=session_now(db),
        cameras=[] if body.all_cameras else [DelegationCamera(camera_id=c) for c in sorted(set(body.camera_ids))],
    )  # fmt: skip
    db.add(d)
    db.flush()
    record(db, p, "delegation_created", d.commune_insee, f"delegation:{d.id}", grantee=d.grantee,
         windows=d.windows, spans=d.spans, cameras="all" if d.all_cameras else body.camera_ids)  # fmt: skip
    return _del_out(d)


class RevokeIn(BaseModel):
    reason: str = Field("", max_length=1000)


@router.post(
    "/delegations/{delegation_id}/revoke", response_model=DelegationOut, responses=errors(404)
)
async def revoke_delegation(
    delegation_id: PathId, body: RevokeIn, request: Request, p: Granting, db: DbSession
) -> DelegationOut:
    """Revoke at once: open sessions that relied on it close within a second."""
    d = db.get(Delegation, delegation_id)
    if d is None:
        raise NotFound(t("authority.delegation_not_found"))
    _check_commune(db, p, d.commune_insee)
    if d.revoked_at is None:
        d.revoked_at = session_now(db)
        d.revoked_by = p.account_id
        d.revoke_reason = body.reason
        record(
            db, p, "delegation_revoked", d.commune_insee, f"delegation:{d.id}", reason=body.reason
        )
    db.commit()
    await _recheck(request)
    return _del_out(d)


# --- accounts ------------------------------------------------------------------------


@router.post("/accounts/{account_id}/disable", status_code=204, responses=errors(404))
async def disable_account(
    account_id: PathId, body: RevokeIn, request: Request, p: Admin, db: DbSession
) -> None:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(t("authority.account_not_found"))
    account.is_active = False
    record(db, p, "account_disabled", None, f"account:{account.username}", reason=body.reason)
    sign_out_everywhere(db, account.id, p.username, account.username)
    db.commit()
    await request.app.state.media.revoke(account_ids=[account.id])


@router.post("/accounts/{account_id}/sign-out-everywhere", status_code=204, responses=errors(404))
async def admin_sign_out(account_id: PathId, request: Request, p: Admin, db: DbSession) -> None:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(t("authority.account_not_found"))
    sign_out_everywhere(db, account.id, p.username, account.username)
    db.commit()
    await request.app.state.media.revoke(account_ids=[account.id])


# --- audit export ----------------------------------------------------------------------

AUDIT_FIELDS = ("id", "at", "actor", "actor_account_id", "action", "commune_insee", "target",
                "reason", "details", "prev_hash", "entry_hash")  # fmt: skip


def audit_rows(
    db: DbSession, commune: str | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    for name, v in (("start", start), ("end", end)):
        if v.tzinfo is None:
            raise InvalidArgument(
                t("audit.bad_period", detail=f"{name} sans fuseau horaire"), field=name
            )
    if end <= start:
        raise InvalidArgument(t("audit.bad_period", detail="la fin précède le début"), field="end")
    stmt = select(AuditEntry).where(AuditEntry.at >= start, AuditEntry.at < end)
    if commune:
        stmt = stmt.where(AuditEntry.commune_insee == commune)
    out = []
    for e in db.scalars(stmt.order_by(AuditEntry.id)):
        out.append({"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                    "actor_account_id": e.actor_account_id, "action": e.action,
                    "commune_insee": e.commune_insee, "target": e.target, "reason": e.reason,
                    "details": e.details, "prev_hash": e.prev_hash, "entry_hash": e.entry_hash})  # fmt: skip
    return out


def render_audit(rows: list[dict[str, Any]], fmt: str) -> tuple[str, str]:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1), "application/json"
    if fmt != "csv":
        raise InvalidArgument(t("audit.bad_format"), field="format")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=AUDIT_FIELDS)
    w.writeheader()
    for r in rows:
        w.writerow(r | {"details": json.dumps(r["details"], ensure_ascii=False)})
    return buf.getvalue(), "text/csv; charset=utf-8"


class AuditEntryOut(BaseModel):
    """One entry of the audit log, as exported (JSON; the CSV has the same columns)."""

    id: int
    at: datetime
    actor: str
    actor_account_id: int | None
    action: str
    commune_insee: str | None
    target: str
    reason: str
    details: dict[str, object]
    prev_hash: str
    entry_hash: str


AUDIT_FILE: dict[int | str, dict[str, Any]] = {
    200: {"model": list[AuditEntryOut], "description": "The entries, as a file (JSON or CSV).",
          "content": {"text/csv": {}}}
}  # fmt: skip


@router.get("/audit", response_class=Response, responses=AUDIT_FILE | errors(404, 422))
def export_audit(
    p: AuditReader, db: DbSession, start: datetime, end: datetime,
    commune: Annotated[str | None, Query(pattern=INSEE_PATTERN, examples=["59350"])] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response:  # fmt: skip
    """Audit entries of a period (and a commune), CSV or JSON, for the prefect or the CNIL."""
    scope = _communes_of(db, p)
    if scope is not None and (commune is None or commune not in scope):
        raise NotFound(t("authority.not_in_scope"))
    rows = audit_rows(db, commune, start, end)
    body, media_type = render_audit(rows, format)
    record(db, p, "audit_exported", commune, f"audit:{start.isoformat()}/{end.isoformat()}",
         format=format, entries=len(rows))  # fmt: skip
    name = f"journal-{commune or 'metropole'}-{start.date()}-{end.date()}.{format}"
    return Response(body, media_type=media_type, headers=attachment(name))
