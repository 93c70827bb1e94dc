"""Inventory import (CSV, XLSX; all or nothing), export and summary."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, UploadFile
from fastapi.responses import JSONResponse, Response

from vigie.admin import inventory
from vigie.base.clock import paris_today
from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t
from vigie.control.admin_schemas import (
    CommuneInventoryDetailOut,
    CommuneInventoryOut,
    ImportReportOut,
)
from vigie.control.api.admin_common import Manager, ManagerOrCommune, check_commune
from vigie.control.deps import DbSession
from vigie.control.schemas import attachment, errors, file_response
from vigie.storage.db import session_clock

router = APIRouter(
    prefix="/api/admin/inventory", tags=["admin: inventory"], responses=errors(401, 403)
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/import", response_model=ImportReportOut, responses=errors(422))
async def import_file(
    file: UploadFile, _p: Manager, db: DbSession, sheet: str | None = None
) -> Response | ImportReportOut:
    """Import an XLSX workbook (one worksheet per sheet) or one CSV sheet (``?sheet=cameras``)."""
    data = await file.read()
    name = (file.filename or "").lower()
    sheets: dict[str, Sequence[Sequence[object]]]
    if name.endswith(".xlsx"):
        sheets = dict(inventory.read_xlsx(data))
    elif name.endswith(".csv"):
        if sheet not in inventory.SHEETS:
            raise InvalidArgument(
                t(
                    "admin.inventory.unknown_sheet",
                    sheet=sheet or "",
                    sheets=", ".join(inventory.SHEETS),
                ),
                field="sheet",
            )
        sheets = {sheet: inventory.read_csv(data)}
    else:
        raise InvalidArgument(t("admin.inventory.file_type"), field="file")
    try:
        report = inventory.import_inventory(db=db, sheets=sheets)
    except inventory.InventoryImportError as exc:
        db.rollback()
        body = exc.to_dict() | {"details": [e.to_dict() for e in exc.errors]}
        return JSONResponse(status_code=422, content={"error": body})
    return ImportReportOut.model_validate(report.to_dict())


@router.get("/export.xlsx", response_class=Response, responses=file_response(XLSX))
def export_xlsx(_p: Manager, db: DbSession) -> Response:
    return Response(
        inventory.export_xlsx(db=db),
        media_type=XLSX,
        headers=attachment("inventaire.xlsx"),
    )


@router.get(
    "/export/{sheet}.csv",
    response_class=Response,
    responses=file_response("text/csv") | errors(422),
)
def export_csv(sheet: str, _p: Manager, db: DbSession) -> Response:
    return Response(
        inventory.export_csv(db=db, sheet=sheet),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"inventaire-{sheet}.csv"),
    )


@router.get("/summary", response_model=list[CommuneInventoryOut])
def summary(_p: Manager, db: DbSession) -> list[CommuneInventoryOut]:
    today = paris_today(session_clock(db))
    return [
        CommuneInventoryOut.model_validate(s.to_dict())
        for s in inventory.summary(db=db, today=today).values()
    ]


@router.get("/communes/{commune}", response_model=CommuneInventoryDetailOut, responses=errors(422))
def commune_inventory(
    commune: str, principal: ManagerOrCommune, db: DbSession
) -> CommuneInventoryDetailOut:
    check_commune(db, principal, commune)
    today = paris_today(session_clock(db))
    found = inventory.summary(db=db, today=today, communes=[commune])
    if commune not in found:
        raise InvalidArgument(
            t("admin.commune.unknown", field="commune", code=commune), field="commune"
        )
    return CommuneInventoryDetailOut.model_validate(
        found[commune].to_dict()
        | {
            "cameras_detail": [
                {
                    "site": g.site,
                    "count": g.count,
                    "mount": g.mount,
                    "transport": g.transport,
                    "flags": flags,
                }
                for g, flags in inventory.camera_lines(db=db, commune=commune, today=today)
            ]
        }
    )
