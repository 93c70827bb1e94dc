"""The access check that guards every image path (live, snapshot, playback,
export). A small protocol; the implementation is the authority model
(``vigie.control.authority.AuthorityPolicy``: agréments, authorisations,
delegations, time windows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from vigie.control.deps import Principal
from vigie.storage.models import Camera

# What an image access is for; every image path names one.
PURPOSES = ("live", "snapshot", "playback", "export")


class AccessPolicy(Protocol):
    def camera_for_images(
        self,
        db: Session,
        principal: Principal,
        camera_id: int,
        purpose: str = "live",
        recorded: tuple[datetime, datetime] | None = None,
    ) -> Camera:
        """Return the camera if ``principal`` may see its images now for ``purpose``
        (one of ``PURPOSES``), else raise. ``recorded``: for playback and export,
        the recorded period asked for (recorded images are judged by when they
        were recorded as well as by now).

        A camera the principal may not see is reported as not found, so that no
        answer leaks whether another commune's camera exists; a period refused on
        a camera the principal may see is "permission denied", saying why.
        """
        ...

    def recorded_periods(
        self, db: Session, principal: Principal, camera: Camera, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]] | None:
        """The recorded periods of [start, end) the principal may see now; None: all."""
        ...

    def visible_camera_ids(self, db: Session, principal: Principal) -> set[int] | None:
        """Cameras the principal may list; None means all."""
        ...
