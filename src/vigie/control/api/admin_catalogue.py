"""The versioned catalogue of services."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vigie.admin import catalogue
from vigie.base.clock import paris_today
from vigie.control.api.admin_common import Manager
from vigie.control.deps import CurrentPrincipal, DbSession
from vigie.storage.db import session_clock

router = APIRouter(prefix="/api/admin/catalogue", tags=["admin: catalogue"])


class VersionIn(BaseModel):
    label: str = Field(min_length=1, max_length=100)
    valid_from: date
    note: str = ""
    items: list[dict[str, Any]] = Field(
        description="code, label, unit, unit_cost_eur_per_year (string)"
    )


@router.get("/versions")
def list_versions(_p: CurrentPrincipal, db: DbSession) -> list[dict[str, object]]:
    catalogue.ensure_default(db=db)
    return [catalogue.version_to_dict(v) for v in catalogue.list_versions(db=db)]


@router.post("/versions", status_code=201)
def create_version(body: VersionIn, _p: Manager, db: DbSession) -> dict[str, object]:
    v = catalogue.create_version(
        db=db, label=body.label, valid_from=body.valid_from, items=body.items, note=body.note
    )
    return catalogue.version_to_dict(v)


@router.get("/in-force")
def in_force(_p: CurrentPrincipal, db: DbSession, day: date | None = None) -> dict[str, object]:
    catalogue.ensure_default(db=db)
    return catalogue.version_to_dict(
        catalogue.version_in_force(db=db, day=day or paris_today(session_clock(db)))
    )
