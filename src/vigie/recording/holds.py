"""Requisitions and legal holds: creation and release, both written to the audit log."""

from __future__ import annotations

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
    communes = set()
    for cid in camera_ids:
        cam = db.get(Camera, cid)
        if cam is None:
            raise NotFound(t("camera.not_found"))
        communes.add(cam.commune_insee)
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
    audit.append(
        db,
        at=now,
        action="hold_create",
        actor=actor,
        actor_account_id=actor_account_id,
        commune_insee=communes.pop() if len(communes) == 1 else None,
        target=f"requisition:{req.id}",
        reason=reason,
        details={
            "procedure_number": req.procedure_number,
            "cameras": req.camera_ids,
            "start_utc": start.isoformat(),
            "end_utc": end.isoformat(),
        },
    )
    return req


def release_requisition(
    db: Session,
    requisition_id: int,
    *,
    now: datetime,
    actor: str,
    actor_account_id: int | None,
    reason: str,
) -> Requisition:
    reason = _require_reason(reason)
    req = db.get(Requisition, requisition_id)
    if req is None:
        raise NotFound(t("recording.hold.not_found", id=requisition_id))
    if req.status != "active":
        raise FailedPrecondition(t("recording.hold.already_released"))
    req.status = "released"
    req.released_at = now
    req.release_reason = reason
    audit.append(
        db,
        at=now,
        action="hold_release",
        actor=actor,
        actor_account_id=actor_account_id,
        target=f"requisition:{req.id}",
        reason=reason,
        details={"procedure_number": req.procedure_number},
    )
    db.flush()
    return req
