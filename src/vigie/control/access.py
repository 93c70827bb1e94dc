"""The access check that guards every image path (live, snapshot; later
playback and export). It is a small protocol so that the authority model
(agréments, delegations, time windows) plugs in without touching the routes.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from vigie.base.errors import NotFound
from vigie.base.i18n import t
from vigie.control.deps import Principal
from vigie.domain import roles
from vigie.storage.models import Camera

# What an image access is for; every image path names one.
PURPOSES = ("live", "snapshot", "playback", "export")


class AccessPolicy(Protocol):
    def camera_for_images(
        self, db: Session, principal: Principal, camera_id: int, purpose: str = "live"
    ) -> Camera:
        """Return the camera if ``principal`` may see its images now for ``purpose``
        (one of ``PURPOSES``), else raise.

        A camera the principal may not see is reported as not found, so that no
        answer leaks whether another commune's camera exists.
        """
        ...

    def visible_camera_ids(self, db: Session, principal: Principal) -> set[int] | None:
        """Cameras the principal may list; None means all."""
        ...


class RolePolicy:
    """Baseline policy: image roles see every enabled camera; others none."""

    def camera_for_images(
        self, db: Session, principal: Principal, camera_id: int, purpose: str = "live"
    ) -> Camera:
        camera = db.get(Camera, camera_id)
        if camera is None or not camera.enabled or principal.role not in roles.IMAGE_ROLES:
            raise NotFound(t("camera.not_found"))
        return camera

    def visible_camera_ids(self, db: Session, principal: Principal) -> set[int] | None:
        return None
