"""The versioned catalogue of services."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vigie.admin import catalogue
from vigie.admin.models import CatalogueVersion
from vigie.base.clock import paris_today
from vigie.control.admin_schemas import CatalogueVersionOut
from vigie.control.api.admin_common import Manager
from vigie.control.deps import CurrentPrincipal, DbSession
from vigie.control.schemas import errors
from vigie.storage.db import session_clock

router = APIRouter(
    prefix="/api/admin/catalogue", tags=["admin: catalogue"], responses=errors(401, 403)
)


class VersionIn(BaseModel):
    label: str = Field(min_length=1, max_length=100)
    valid_from: date
    note: str = ""
    items: list[dict[str, Any]] = Field(
        description="code, label, unit, unit_cost_eur_per_year (string)"
    )


def _out(version: CatalogueVersion) -> CatalogueVersionOut:
    return CatalogueVersionOut.model_validate(catalogue.version_to_dict(version))


@router.get("/versions", response_model=list[CatalogueVersionOut])
def list_versions(_p: CurrentPrincipal, db: DbSession) -> list[CatalogueVersionOut]:
    catalogue.ensure_default(db=db)
    return [_out(v) for v in catalogue.list_versions(db=db)]


@router.post(
    "/versions", response_model=CatalogueVersionOut, status_code=201, responses=errors(409, 422)
)
def create_version(body: VersionIn, _p: Manager, db: DbSession) -> CatalogueVersionOut:
    v = catalogue.create_version(
        db=db, label=body.label, valid_from=body.valid_from, items=body.items, note=body.note
    )
    return _out(v)


@router.get("/in-force", response_model=CatalogueVersionOut, responses=errors(409))
def in_force(_p: CurrentPrincipal, db: DbSession, day: date | None = None) -> CatalogueVersionOut:
    catalogue.ensure_default(db=db)
    return _out(catalogue.version_in_force(db=db, day=day or paris_today(session_clock(db))))
