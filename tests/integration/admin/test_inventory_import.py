from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.admin import inventory
from vigie.admin.demo import demo_inventory
from vigie.admin.inventory import InventoryImportError
from vigie.admin.models import InventoryCameraGroup, InventoryRecorder


def to_csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def camera_total(db: Session) -> int:
    return int(db.scalar(select(func.coalesce(func.sum(InventoryCameraGroup.count), 0))) or 0)


def test_realistic_95_commune_inventory_imports_from_xlsx_and_round_trips(
    db_session: Session,
) -> None:
    sheets = demo_inventory(seed=7)
    expected_cameras = sum(int(str(r[2])) for r in sheets["cameras"][1:])
    report = inventory.import_inventory(
        db=db_session, sheets=dict(inventory.read_xlsx(to_xlsx(sheets)))
    )
    assert report.rows["cameras"] == len(sheets["cameras"]) - 1
    assert report.communes["cameras"] > 60
    assert camera_total(db_session) == expected_cameras
    summary = inventory.summary(db=db_session, today=date(2025, 1, 15))
    assert len(summary) == 95
    assert summary["59512"].cameras == 300  # Roubaix
    assert sum(s.obsolete_cameras for s in summary.values()) > 0
    assert sum(s.cameras for s in summary.values()) == expected_cameras

    # Export then re-import: same content.
    exported = inventory.export_xlsx(db=db_session)
    again = inventory.read_xlsx(exported)
    assert set(again) == set(inventory.SHEETS)
    inventory.import_inventory(db=db_session, sheets=dict(again))
    assert camera_total(db_session) == expected_cameras
    assert inventory.export_csv(db=db_session, sheet="cameras") == inventory.export_csv(
        db=db_session, sheet="cameras"
    )


def test_csv_import_with_semicolons_and_french_booleans(db_session: Session) -> None:
    rows = [
        ["commune_insee", "site", "count", "mount", "transport", "codec", "width_px", "height_px", "fps",
         "installed_year", "maker", "model", "close_up"],
        ["59350", "Grand-Place", "4", "PTZ", "ip", "h264", "1920", "1080", "25", "2021", "Axis", "Q6075", "oui"],
        ["59350", "Gare", "2", "fixed", "analogue", "analogue", "704", "576", "6", "2009", "Bosch", "Dinion", "Oui"],
    ]  # fmt: skip
    inventory.import_inventory(db=db_session, sheets={"cameras": inventory.read_csv(to_csv(rows))})
    lines = inventory.camera_lines(db=db_session, commune="59350", today=date(2025, 1, 1))
    assert [(g.site, g.mount, flags) for g, flags in lines] == [
        ("Grand-Place", "ptz", []),
        ("Gare", "fixed", ["age", "analogue", "below_legal_minimum"]),
    ]


def test_bad_import_is_all_or_nothing_and_reports_every_row(db_session: Session) -> None:
    good = demo_inventory(seed=3)
    inventory.import_inventory(db=db_session, sheets=dict(good))
    before = camera_total(db_session)
    recorders_before = db_session.scalar(select(func.count(InventoryRecorder.id)))

    bad = {k: [list(r) for r in v] for k, v in demo_inventory(seed=4).items()}
    bad["cameras"][5][0] = "59999"  # unknown commune, line 6
    bad["cameras"][9][2] = "-3"  # negative count, line 10
    bad["recorders"][2][5] = "beaucoup"  # storage not a number, line 3
    with pytest.raises(InventoryImportError) as exc:
        inventory.import_inventory(db=db_session, sheets=dict(bad))
    got = {(e.sheet, e.line, e.column) for e in exc.value.errors}
    assert got == {
        ("cameras", 6, "commune_insee"),
        ("cameras", 10, "count"),
        ("recorders", 3, "storage_tb"),
    }
    assert exc.value.field == "file"
    assert "rien n'a été importé" in exc.value.message
    assert camera_total(db_session) == before
    assert db_session.scalar(select(func.count(InventoryRecorder.id))) == recorders_before


def test_unreadable_xlsx_is_refused() -> None:
    with pytest.raises(inventory.InvalidArgument) as exc:
        inventory.read_xlsx(b"not a workbook")
    assert exc.value.field == "file"
