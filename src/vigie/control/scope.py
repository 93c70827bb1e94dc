"""Commune scope of the records about recorded footage: requisitions (legal
holds) and transmissions (exports handed over).

The rules are the authority model's (``authority.may_hold``,
``authority.hold_period_allowed``, ``authority.may_see_transmission``); this
module applies them to rows for the routes. Outside the caller's scope a
requisition, a transmission or a camera is answered exactly as one that does
not exist (404, same message): no existence oracle.

A requisition naming cameras of several communes is shown to a caller who may
hold some of them with those cameras only and ``other_communes: true``; only a
caller in scope for every camera it names may lift it (404 otherwise). A
camera deleted since counts for nobody (its footage went with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound, PermissionDenied
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.control.authority import (
    Grants,
    hold_period_allowed,
    may_hold,
    may_see_transmission,
)
from vigie.control.deps import Principal
from vigie.recording.models import Requisition, Transmission
from vigie.storage.models import Camera


@dataclass
class RequisitionView:
    requisition: Requisition
    camera_ids: list[int]  # those the caller may see
    other_communes: bool  # it names cameras the caller may not see


@dataclass
class RecordScope:
    db: Session
    grants: Grants
    at: datetime
    settings: Settings
    _cameras: dict[int, Camera | None] = field(default_factory=dict)

    @classmethod
    def of(cls, db: Session, principal: Principal, settings: Settings, at: datetime) -> RecordScope:
        return cls(db, Grants.load(db, principal.account_id), at, settings)

    def camera(self, camera_id: int) -> Camera | None:
        if camera_id not in self._cameras:
            self._cameras[camera_id] = self.db.get(Camera, camera_id)
        return self._cameras[camera_id]

    # --- requisitions -------------------------------------------------------------
    def check_hold_camera(self, camera: Camera, start: datetime, end: datetime) -> None:
        """For ``holds.create_requisition``: 404 outside scope, 403 for a period
        the centre was not handed."""
        if not may_hold(self.grants, camera, self.at):
            raise NotFound(t("camera.not_found"))
        if not hold_period_allowed(self.grants, camera, start, end):
            raise PermissionDenied(t("recording.hold.period_not_delegated"), field="start")

    def view(self, req: Requisition) -> RequisitionView | None:
        """What the caller sees of ``req``; None when nothing."""
        mine: list[int] = []
        others = False
        for cid in req.camera_ids:
            cam = self.camera(int(cid))
            if cam is None:
                continue
            if may_hold(self.grants, cam, self.at):
                mine.append(cam.id)
            else:
                others = True
        return RequisitionView(req, mine, others) if mine else None

    def whole(self, req: Requisition) -> bool:
        """For ``holds.release_requisition``: every camera it names is in scope."""
        v = self.view(req)
        return v is not None and not v.other_communes

    def requisitions(self) -> list[RequisitionView]:
        rows = self.db.scalars(select(Requisition).order_by(Requisition.id.desc()))
        return [v for r in rows if (v := self.view(r)) is not None]

    def requisition_for_export(self, requisition_id: int, camera_id: int) -> None:
        """An export may name a requisition the caller sees, that names the camera."""
        req = self.db.get(Requisition, requisition_id)
        v = self.view(req) if req is not None else None
        if v is None:
            raise NotFound(t("recording.hold.not_found", id=requisition_id))
        if camera_id not in v.camera_ids:
            raise InvalidArgument(
                t("recording.hold.camera_not_named", id=requisition_id), field="requisition_id"
            )

    # --- transmissions ------------------------------------------------------------
    def sees(self, tr: Transmission) -> bool:
        cam = self.camera(tr.camera_id)
        return cam is not None and may_see_transmission(
            self.grants, cam, tr.start_utc, tr.end_utc, self.at, self.settings
        )

    def transmissions(self) -> list[Transmission]:
        rows = self.db.scalars(select(Transmission).order_by(Transmission.id.desc()))
        return [tr for tr in rows if self.sees(tr)]

    def transmission(self, transmission_id: int) -> Transmission:
        tr = self.db.get(Transmission, transmission_id)
        if tr is None or not self.sees(tr):
            raise NotFound(t("recording.transmission.not_found", id=transmission_id))
        return tr
