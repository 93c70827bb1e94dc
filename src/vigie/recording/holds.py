"""Requisitions and legal holds: creation and release, both written to the audit log.

Who may hold which camera's footage is the caller's rule (the control plane's
authority model), handed in as ``check_camera`` / ``in_scope``: a camera or a
requisition outside the caller's scope is answered exactly as one that does not
exist. Each creation and release is logged once per commune concerned, with
that commune's cameras, so that every commune's audit export shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from vigie.base.errors import FailedPrecondition, InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.recording.index import check_range
from vigie.recording.models import Requisition
from vigie.storage import audit
from vigie.storage.models import Camera

MIN_REASON_CHARS = 5


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise InvalidArgument(t("recording.hold.reason_required"), field="reason")
    return reason


def create_requisition(
    db: Session,
    *,
    now: datetime,
    actor: str,
    actor_account_id: int | None,
    procedure_number: str,
    officer: str,
    service: str,
    legal_basis: str,
    camera_ids: list[int],
    start: datetime,
    end: datetime,
    reason: str,
    check_camera: Callable[[Camera, datetime, datetime], None],
) -> Requisition:
    start, end = check_range(start, end)
    reason = _require_reason(reason)
    if not procedure_number.strip():
        raise InvalidArgument(
            "procedure_number : indiquez le numéro de procédure (règle de l'exception "
            "judiciaire : pas de conservation prolongée sans référence de procédure).",
            field="procedure_number",
        )
    if not camera_ids:
        raise InvalidArgument("camera_ids : indiquez au moins une caméra.", field="camera_ids")
    cameras = []
    for cid in sorted(set(camera_ids)):
        cam = db.get(Camera, cid)
        if cam is None:
            raise NotFound(t("camera.not_found"))
        check_camera(cam, start, end)  # raises, NotFound outside the caller's scope
        cameras.append(cam)
    req = Requisition(
        procedure_number=procedure_number.strip(),
        officer=officer.strip(),
        service=service.strip(),
        legal_basis=legal_basis.strip(),
        camera_ids=sorted(set(camera_ids)),
        start_utc=start,
        end_utc=end,
        status="active",
        reason=reason,
        created_by_account_id=actor_account_id,
        created_at=now,
    )
    db.add(req)
    db.flush()
    for commune, ids in by_commune(cameras).items():
        audit.append(
            db, at=now, action="hold_create", actor=actor, actor_account_id=actor_account_id,
            commune_insee=commune, target=f"requisition:{req.id}", reason=reason,
            details={"procedure_number": req.procedure_number, "cameras": ids,
                     "start_utc": start.isoformat(), "end_utc": end.isoformat()},
        )  # fmt: skip
    return req


def by_commune(cameras: list[Camera]) -> dict[str | None, list[int]]:
    """Camera ids per commune (one audit entry each); ``{None: []}`` when none is left."""
    out: dict[str | None, list[int]] = {}
    for cam in cameras:
        out.setdefault(cam.commune_insee, []).append(cam.id)
    return {k: sorted(v) for k, v in out.items()} or {None: []}


def release_requisition(
    db: Session,
    requisition_id: int,
    *,
    now: datetime,
    actor: str,
    actor_account_id: int | None,
    reason: str,
    in_scope: Callable[[Requisition], bool],
) -> Requisition:
    reason = _require_reason(reason)
    req = db.get(Requisition, requisition_id)
    if req is None or not in_scope(req):
        raise NotFound(t("recording.hold.not_found", id=requisition_id))
    if req.status != "active":
        raise FailedPrecondition(t("recording.hold.already_released"))
    req.status = "released"
    req.released_at = now
    req.release_reason = reason
    cameras = [c for cid in req.camera_ids if (c := db.get(Camera, cid)) is not None]
    for commune, ids in by_commune(cameras).items():
        audit.append(
            db, at=now, action="hold_release", actor=actor, actor_account_id=actor_account_id,
            commune_insee=commune, target=f"requisition:{req.id}", reason=reason,
            details={"procedure_number": req.procedure_number, "cameras": ids},
        )  # fmt: skip
    db.flush()
    return req
