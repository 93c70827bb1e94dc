"""Privacy masks API (CSI L251-3): read a camera's masks, replace them.

Anyone who may see a camera reads its masks (the pages draw them over live
and recorded video). Editing is for the metropolitan administrator, CMSU
supervisors and the mayor (commune authority) of the camera's commune; every
edit needs a reason and is logged with the masks before and after. The media
processes receive the new masks at once (snapshots are painted there) and
every export made afterwards is painted frame by frame.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select

from vigie.base.errors import InvalidArgument, NotFound, PermissionDenied
from vigie.base.i18n import t
from vigie.control.auditing import record
from vigie.control.deps import CurrentPrincipal, DbSession, Principal
from vigie.control.schemas import MasksOut, PathId, Strict, errors
from vigie.domain import roles
from vigie.domain.masks import parse_masks
from vigie.storage.models import AccountCommune, Camera

router = APIRouter(prefix="/api", tags=["masks"], responses=errors(401, 403))

CENTRE_EDITORS = (roles.METRO_ADMIN, roles.CMSU_SUPERVISOR)
EDITOR_ROLES = (*CENTRE_EDITORS, roles.COMMUNE_AUTHORITY)  # the mayor: its commune's cameras


class MasksIn(Strict):
    masks: list[Any] = Field(description='[{"label": str, "points": [[x, y], ...]}], 0..1')
    reason: str = Field("", max_length=500, description="Why (kept in the audit log).")


def can_edit(db: DbSession, principal: Principal, camera: Camera) -> bool:
    if principal.role in CENTRE_EDITORS:
        return True
    if principal.role != roles.COMMUNE_AUTHORITY:
        return False
    return (
        db.scalar(
            select(AccountCommune.commune_insee).where(
                AccountCommune.account_id == principal.account_id,
                AccountCommune.commune_insee == camera.commune_insee,
            )
        )
        is not None
    )


def _camera(request: Request, db: DbSession, principal: Principal, camera_id: int) -> Camera:
    camera = db.get(Camera, camera_id)
    if camera is None:
        raise NotFound(t("camera.not_found"))
    ids = request.app.state.access_policy.visible_camera_ids(db, principal)
    if ids is not None and camera_id not in ids and not can_edit(db, principal, camera):
        raise NotFound(t("camera.not_found"))  # as for an unknown camera
    return camera


def _out(db: DbSession, principal: Principal, camera: Camera) -> MasksOut:
    return MasksOut(
        camera_id=camera.id,
        name=camera.name,
        commune_insee=camera.commune_insee,
        masks=list(camera.privacy_masks or []),
        can_edit=can_edit(db, principal, camera),
    )


@router.get("/cameras/{camera_id}/privacy-masks", response_model=MasksOut, responses=errors(404))
def get_masks(
    camera_id: PathId, request: Request, principal: CurrentPrincipal, db: DbSession
) -> MasksOut:
    return _out(db, principal, _camera(request, db, principal, camera_id))


@router.put("/cameras/{camera_id}/privacy-masks", response_model=MasksOut, responses=errors(404))
async def put_masks(
    camera_id: PathId, body: MasksIn, request: Request, principal: CurrentPrincipal, db: DbSession
) -> MasksOut:
    camera = _camera(request, db, principal, camera_id)
    if not can_edit(db, principal, camera):
        raise PermissionDenied(t("masks.forbidden"))
    if len(body.reason.strip()) < 5:
        raise InvalidArgument(t("masks.reason_required"), field="reason")
    masks = [m.to_json() for m in parse_masks(body.masks)]
    before = list(camera.privacy_masks or [])
    camera.privacy_masks = masks
    db.flush()
    record(
        db,
        principal,
        "privacy_masks_set",
        camera.commune_insee,
        f"camera:{camera.id}",
        body.reason.strip(),
        details={"before": before, "after": masks},
    )
    db.commit()
    await request.app.state.sync_media()  # snapshots are painted by the media processes
    return _out(db, principal, camera)
