"""The inventory of what communes already have: cameras, recorders, CSU,
network links, prefectoral authorisations. Import and export as CSV (one
sheet) or XLSX (one worksheet per sheet), and obsolescence flags.

An import is all or nothing: every row of every sheet is checked first, every
bad cell is reported with its sheet, line, column and reason, and the database
is touched only when there is no error at all. A successful import replaces,
for each sheet present in the file, the lines of the communes that appear in
that sheet; other communes and other sheets are left as they were.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vigie.admin.models import (
    InventoryAuthorisation,
    InventoryCameraGroup,
    InventoryCsu,
    InventoryLink,
    InventoryRecorder,
)
from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t
from vigie.storage.models import Base, Commune

# Obsolescence thresholds (design inference, docs/design/finance.md).
OBSOLETE_AGE_YEARS = 10
# Legal image minimums, arrêté of 3 August 2007 (domain.md §2.9).
MIN_CLOSE_UP = (704, 576, 12)
MIN_OTHER = (352, 288, 6)
AUTHORISATION_WARNING_DAYS = 180

CAMERA_MOUNTS = ("fixed", "ptz", "multi_sensor")
CAMERA_TRANSPORTS = ("analogue", "ip")
CODECS = ("h264", "h265", "mjpeg", "mpeg4", "analogue", "other")
LINK_KINDS = ("fibre", "copper", "radio", "cellular", "other")
MAX_YEAR = 2100


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # str | int | bool | decimal | date | choice | commune | year
    required: bool = True
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 1_000_000
    max_len: int = 200


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    model: type[Base]
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


def _commune() -> Column:
    return Column("commune_insee", "commune", max_len=5)


SHEETS: dict[str, Sheet] = {
    s.name: s
    for s in (
        Sheet(
            "cameras",
            InventoryCameraGroup,
            (
                _commune(),
                Column("site", "str", required=False),
                Column("count", "int", low=1, high=10_000),
                Column("mount", "choice", choices=CAMERA_MOUNTS),
                Column("transport", "choice", choices=CAMERA_TRANSPORTS),
                Column("codec", "choice", required=False, choices=CODECS),
                Column("width_px", "int", required=False, low=1, high=20_000),
                Column("height_px", "int", required=False, low=1, high=20_000),
                Column("fps", "int", required=False, low=1, high=120),
                Column("installed_year", "year", required=False),
                Column("maker", "str", required=False, max_len=100),
                Column("model", "str", required=False, max_len=100),
                Column("close_up", "bool", required=False),
            ),
        ),
        Sheet(
            "recorders",
            InventoryRecorder,
            (
                _commune(),
                Column("name", "str", required=False),
                Column("maker", "str", required=False, max_len=100),
                Column("model", "str", required=False, max_len=100),
                Column("channels", "int", low=1, high=10_000),
                Column("storage_tb", "decimal", high=100_000),
                Column("retention_days", "int", required=False, low=1, high=365),
                Column("installed_year", "year", required=False),
            ),
        ),
        Sheet(
            "csu",
            InventoryCsu,
            (
                _commune(),
                Column("name", "str", required=False),
                Column("staffed_hours_per_week", "int", high=168),
                Column("staff_count", "int", high=1_000),
                Column("pooled", "bool", required=False),
                Column("opened_year", "year", required=False),
            ),
        ),
        Sheet(
            "links",
            InventoryLink,
            (
                _commune(),
                Column("kind", "choice", choices=LINK_KINDS),
                Column("bandwidth_mbps", "int", low=1, high=1_000_000),
                Column("operator", "str", required=False, max_len=100),
                Column("endpoint", "str", required=False),
            ),
        ),
        Sheet(
            "authorisations",
            InventoryAuthorisation,
            (
                _commune(),
                Column("reference", "str", max_len=100),
                Column("issued_on", "date"),
                Column("expires_on", "date"),
                Column("camera_count", "int", high=100_000),
                Column("retention_days_max", "int", low=1, high=30),
            ),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class RowError:
    sheet: str
    line: int
    column: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        return t(
            "admin.inventory.row_error",
            sheet=self.sheet,
            line=self.line,
            column=self.column,
            reason=self.reason,
        )


class InventoryImportError(InvalidArgument):
    """The import was refused; ``errors`` lists every bad cell. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(t("admin.inventory.refused", count=len(errors)), field="file")
        self.errors = errors


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)
    communes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"rows": dict(self.rows), "communes": dict(self.communes)}


# ---------------------------------------------------------------- parsing


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value).strip()


_TRUE = {"1", "true", "oui", "yes", "o", "vrai", "x"}
_FALSE = {"0", "false", "non", "no", "n", "faux", ""}


def _convert(col: Column, text: str, communes: set[str]) -> object:
    """Value of one cell, or raises ValueError with a French reason."""
    if text == "":
        if col.required:
            raise ValueError(t("admin.inventory.reason.required"))
        return False if col.kind == "bool" else ("" if col.kind in ("str", "choice") else None)
    if col.kind == "commune":
        code = text.zfill(5) if text.isdigit() else text
        if code not in communes:
            raise ValueError(t("admin.inventory.reason.commune", code=text))
        return code
    if col.kind == "str":
        if len(text) > col.max_len:
            raise ValueError(t("admin.inventory.reason.too_long", max=col.max_len))
        return text
    if col.kind == "choice":
        value = text.lower()
        if value not in col.choices:
            raise ValueError(
                t("admin.inventory.reason.choice", value=text, choices=", ".join(col.choices))
            )
        return value
    if col.kind in ("int", "year"):
        try:
            number = int(text)
        except ValueError:
            raise ValueError(t("admin.inventory.reason.integer", value=text)) from None
        low, high = (1950, MAX_YEAR) if col.kind == "year" else (col.low, col.high)
        if not low <= number <= high:
            raise ValueError(t("admin.inventory.reason.range", value=text, low=low, high=high))
        return number
    if col.kind == "decimal":
        try:
            dec = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(t("admin.inventory.reason.number", value=text)) from None
        if not dec.is_finite() or dec < 0 or dec > col.high:
            raise ValueError(t("admin.inventory.reason.range", value=text, low=0, high=col.high))
        return dec.quantize(Decimal("0.01"))
    if col.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(t("admin.inventory.reason.bool", value=text))
    if col.kind == "date":
        try:
            if "/" in text:
                d, m, y = text.split("/")
                return date(int(y), int(m), int(d))
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(t("admin.inventory.reason.date", value=text)) from None
    raise AssertionError(col.kind)


def parse_sheet(
    sheet_name: str, rows: Sequence[Sequence[object]], communes: set[str]
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Check one sheet (first row = header). Returns the records and every error."""
    sheet = SHEETS.get(sheet_name)
    if sheet is None:
        return [], [
            RowError(sheet_name, 1, "", t("admin.inventory.reason.sheet", sheets=", ".join(SHEETS)))
        ]
    if not rows:
        return [], [RowError(sheet_name, 1, "", t("admin.inventory.reason.empty"))]
    header = [_cell_text(h).lower() for h in rows[0]]
    errors: list[RowError] = []
    missing = [c.name for c in sheet.columns if c.required and c.name not in header]
    unknown = [h for h in header if h and h not in sheet.header]
    for name in missing:
        errors.append(RowError(sheet_name, 1, name, t("admin.inventory.reason.missing_column")))
    for name in unknown:
        errors.append(
            RowError(
                sheet_name,
                1,
                name,
                t("admin.inventory.reason.unknown_column", columns=", ".join(sheet.header)),
            )
        )
    if errors:
        return [], errors
    index = {name: i for i, name in enumerate(header) if name}
    records: list[dict[str, Any]] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row]
        if not any(cells):
            continue
        record: dict[str, Any] = {}
        for col in sheet.columns:
            i = index.get(col.name)
            text = cells[i] if i is not None and i < len(cells) else ""
            try:
                record[col.name] = _convert(col, text, communes)
            except ValueError as exc:
                errors.append(RowError(sheet_name, line, col.name, str(exc)))
        if sheet_name == "authorisations" and isinstance(record.get("issued_on"), date):
            expires = record.get("expires_on")
            if isinstance(expires, date) and expires <= record["issued_on"]:
                errors.append(
                    RowError(
                        sheet_name, line, "expires_on", t("admin.inventory.reason.expiry_order")
                    )
                )
        if (record.get("width_px") is None) != (
            record.get("height_px") is None
        ) and sheet_name == "cameras":
            errors.append(
                RowError(sheet_name, line, "height_px", t("admin.inventory.reason.resolution_pair"))
            )
        records.append(record)
    return records, errors


def read_csv(data: bytes) -> list[list[str]]:
    """Rows of a CSV file (UTF-8 with or without BOM; comma or semicolon)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]


def read_xlsx(data: bytes) -> dict[str, list[list[object]]]:
    """Rows of every worksheet of an XLSX workbook, by lower-cased sheet name."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise InvalidArgument(
            t("admin.inventory.bad_xlsx", reason=type(exc).__name__), field="file"
        ) from exc
    out: dict[str, list[list[object]]] = {}
    for ws in wb.worksheets:
        out[ws.title.strip().lower()] = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return out


def import_inventory(
    *, db: Session, sheets: Mapping[str, Sequence[Sequence[object]]]
) -> ImportReport:
    """Check every sheet, then replace the inventory of the communes present.

    Raises :class:`InventoryImportError` listing every bad cell; then nothing
    is written.
    """
    communes = set(db.scalars(select(Commune.insee_code)))
    parsed: dict[str, list[dict[str, Any]]] = {}
    errors: list[RowError] = []
    for name, rows in sheets.items():
        records, errs = parse_sheet(name, rows, communes)
        parsed[name] = records
        errors.extend(errs)
    if not sheets:
        errors.append(RowError("", 1, "", t("admin.inventory.reason.empty")))
    if errors:
        raise InventoryImportError(errors)
    report = ImportReport()
    for name, records in parsed.items():
        model: Any = SHEETS[name].model
        touched = sorted({r["commune_insee"] for r in records})
        if touched:
            db.execute(delete(model).where(model.commune_insee.in_(touched)))
        for r in records:
            db.add(model(**r))
        report.rows[name] = len(records)
        report.communes[name] = len(touched)
    db.flush()
    return report


# ---------------------------------------------------------------- export


def _rows_of(db: Session, sheet: Sheet, communes: Iterable[str] | None) -> list[list[object]]:
    model: Any = sheet.model
    query = select(model).order_by(model.commune_insee, model.id)
    if communes is not None:
        query = query.where(model.commune_insee.in_(list(communes)))
    out: list[list[object]] = []
    for obj in db.scalars(query):
        row: list[object] = []
        for col in sheet.columns:
            value = getattr(obj, col.name)
            if col.kind == "bool":
                value = "oui" if value else "non"
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            row.append("" if value is None else value)
        out.append(row)
    return out


def export_csv(*, db: Session, sheet: str, communes: Iterable[str] | None = None) -> bytes:
    spec = SHEETS.get(sheet)
    if spec is None:
        raise InvalidArgument(
            t("admin.inventory.unknown_sheet", sheet=sheet, sheets=", ".join(SHEETS)), field="sheet"
        )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(spec.header)
    writer.writerows(_rows_of(db, spec, communes))
    return buf.getvalue().encode("utf-8")


def export_xlsx(*, db: Session, communes: Iterable[str] | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    chosen = None if communes is None else list(communes)
    for spec in SHEETS.values():
        ws = wb.create_sheet(spec.name)
        ws.append(spec.header)
        for row in _rows_of(db, spec, chosen):
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- obsolescence


def camera_flags(group: InventoryCameraGroup, *, year: int) -> list[str]:
    """Obsolescence flags of a camera group: ``age``, ``analogue``, ``below_legal_minimum``."""
    flags: list[str] = []
    if group.installed_year is not None and year - group.installed_year >= OBSOLETE_AGE_YEARS:
        flags.append("age")
    if group.transport == "analogue":
        flags.append("analogue")
    min_w, min_h, min_fps = MIN_CLOSE_UP if group.close_up else MIN_OTHER
    too_small = (
        group.width_px is not None
        and group.height_px is not None
        and (group.width_px < min_w or group.height_px < min_h)
    )
    too_slow = group.fps is not None and group.fps < min_fps
    if too_small or too_slow:
        flags.append("below_legal_minimum")
    return flags


@dataclass
class CommuneInventory:
    insee_code: str
    name: str
    cameras: int = 0
    obsolete_cameras: int = 0
    by_flag: dict[str, int] = field(
        default_factory=lambda: {"age": 0, "analogue": 0, "below_legal_minimum": 0}
    )
    by_mount: dict[str, int] = field(default_factory=dict)
    recorders: int = 0
    storage_tb: Decimal = Decimal("0.00")
    csu_hours_per_week: int = 0
    csu_staff: int = 0
    links: int = 0
    authorisations: int = 0
    authorisations_expired: int = 0
    authorisations_expiring: int = 0

    @property
    def obsolete_share_percent(self) -> int:
        return round(100 * self.obsolete_cameras / self.cameras) if self.cameras else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "insee_code": self.insee_code,
            "name": self.name,
            "cameras": self.cameras,
            "obsolete_cameras": self.obsolete_cameras,
            "by_flag": dict(self.by_flag),
            "by_mount": dict(self.by_mount),
            "recorders": self.recorders,
            "storage_tb": str(self.storage_tb),
            "csu_hours_per_week": self.csu_hours_per_week,
            "csu_staff": self.csu_staff,
            "links": self.links,
            "authorisations": self.authorisations,
            "authorisations_expired": self.authorisations_expired,
            "authorisations_expiring": self.authorisations_expiring,
        }


def summary(
    *, db: Session, today: date, communes: Iterable[str] | None = None
) -> dict[str, CommuneInventory]:
    """Per-commune totals and obsolescence counts, every commune included."""
    query = select(Commune).order_by(Commune.name)
    if communes is not None:
        query = query.where(Commune.insee_code.in_(list(communes)))
    out = {c.insee_code: CommuneInventory(c.insee_code, c.name) for c in db.scalars(query)}

    def each(model: Any) -> Iterable[Any]:
        q = select(model)
        if communes is not None:
            q = q.where(model.commune_insee.in_(list(out)))
        return db.scalars(q)

    for g in each(InventoryCameraGroup):
        s = out[g.commune_insee]
        s.cameras += g.count
        s.by_mount[g.mount] = s.by_mount.get(g.mount, 0) + g.count
        flags = camera_flags(g, year=today.year)
        if flags:
            s.obsolete_cameras += g.count
        for f in flags:
            s.by_flag[f] += g.count
    for r in each(InventoryRecorder):
        out[r.commune_insee].recorders += 1
        out[r.commune_insee].storage_tb += r.storage_tb
    for c in each(InventoryCsu):
        out[c.commune_insee].csu_hours_per_week = max(
            out[c.commune_insee].csu_hours_per_week, c.staffed_hours_per_week
        )
        out[c.commune_insee].csu_staff += c.staff_count
    for link in each(InventoryLink):
        out[link.commune_insee].links += 1
    for a in each(InventoryAuthorisation):
        s = out[a.commune_insee]
        s.authorisations += 1
        if a.expires_on < today:
            s.authorisations_expired += 1
        elif (a.expires_on - today).days <= AUTHORISATION_WARNING_DAYS:
            s.authorisations_expiring += 1
    return out


def camera_lines(
    *, db: Session, commune: str, today: date
) -> list[tuple[InventoryCameraGroup, list[str]]]:
    groups = db.scalars(
        select(InventoryCameraGroup)
        .where(InventoryCameraGroup.commune_insee == commune)
        .order_by(InventoryCameraGroup.id)
    )
    return [(g, camera_flags(g, year=today.year)) for g in groups]
