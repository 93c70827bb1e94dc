"""The catalogue of services with yearly unit costs, versioned.

A version is created whole and never edited: a price change is a new version
with its own ``valid_from``. The version in force at a date is the newest one
whose ``valid_from`` is on or before it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.admin.models import CatalogueItem, CatalogueVersion
from vigie.admin.money import ZERO, parse_amount
from vigie.base.errors import FailedPrecondition, InvalidArgument, NotFound
from vigie.base.i18n import t

UNITS = ("hour_per_week", "commune", "camera", "tb", "requisition")


def default_catalogue() -> dict[str, Any]:
    text = (resources.files("vigie.admin") / "data" / "catalogue_2025.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


def default_codes() -> list[str]:
    return [str(i["code"]) for i in default_catalogue()["items"]]


def create_version(
    *, db: Session, label: str, valid_from: date, items: Sequence[Mapping[str, Any]], note: str = ""
) -> CatalogueVersion:
    label = label.strip()
    if not label:
        raise InvalidArgument(t("admin.value.required", field="label"), field="label")
    if db.scalar(select(CatalogueVersion).where(CatalogueVersion.label == label)) is not None:
        raise FailedPrecondition(t("admin.catalogue.label_taken", label=label), field="label")
    if not items:
        raise InvalidArgument(t("admin.catalogue.no_items"), field="items")
    version = CatalogueVersion(label=label, valid_from=valid_from, note=note)
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"items[{i}]"
        code = str(item.get("code", "")).strip()
        if not code:
            raise InvalidArgument(
                t("admin.value.required", field=f"{where}.code"), field=f"{where}.code"
            )
        if code in seen:
            raise InvalidArgument(t("admin.catalogue.duplicate", code=code), field=f"{where}.code")
        seen.add(code)
        unit = str(item.get("unit", ""))
        if unit not in UNITS:
            raise InvalidArgument(
                t("admin.catalogue.unit", field=f"{where}.unit", units=", ".join(UNITS)),
                field=f"{where}.unit",
            )
        if "unit_cost_eur_per_year" not in item:
            raise InvalidArgument(
                t("admin.value.required", field=f"{where}.unit_cost_eur_per_year"),
                field=f"{where}.unit_cost_eur_per_year",
            )
        version.items.append(
            CatalogueItem(
                position=i,
                code=code,
                label=str(item.get("label") or code),
                unit=unit,
                unit_cost_eur_per_year=parse_amount(
                    item["unit_cost_eur_per_year"], field=f"{where}.unit_cost_eur_per_year"
                ),
            )
        )
    db.add(version)
    db.flush()
    return version


def ensure_default(*, db: Session) -> CatalogueVersion:
    """The shipped catalogue version, created on first use."""
    data = default_catalogue()
    existing = db.scalar(select(CatalogueVersion).where(CatalogueVersion.label == data["label"]))
    if existing is not None:
        return existing
    return create_version(
        db=db,
        label=data["label"],
        valid_from=date.fromisoformat(data["valid_from"]),
        items=data["items"],
        note=data.get("note", ""),
    )


def list_versions(*, db: Session) -> list[CatalogueVersion]:
    return list(
        db.scalars(
            select(CatalogueVersion).order_by(CatalogueVersion.valid_from, CatalogueVersion.id)
        )
    )


def get_version(*, db: Session, version_id: int) -> CatalogueVersion:
    version = db.get(CatalogueVersion, version_id)
    if version is None:
        raise NotFound(t("admin.catalogue.not_found", id=version_id))
    return version


def version_in_force(*, db: Session, day: date) -> CatalogueVersion:
    version = db.scalar(
        select(CatalogueVersion)
        .where(CatalogueVersion.valid_from <= day)
        .order_by(CatalogueVersion.valid_from.desc(), CatalogueVersion.id.desc())
        .limit(1)
    )
    if version is None:
        raise FailedPrecondition(
            t("admin.catalogue.none_in_force", date=day.strftime("%d/%m/%Y")), field="date"
        )
    return version


def version_to_dict(version: CatalogueVersion) -> dict[str, object]:
    return {
        "id": version.id,
        "label": version.label,
        "valid_from": version.valid_from.isoformat(),
        "note": version.note,
        "items": [
            {
                "code": i.code,
                "label": i.label,
                "unit": i.unit,
                "unit_cost_eur_per_year": str(i.unit_cost_eur_per_year),
            }
            for i in version.items
        ],
    }


def estimate_needs(
    version: CatalogueVersion,
    *,
    hours_per_week: int,
    cameras: int,
    services: Sequence[str],
    requisitions_per_month: int,
    storage_tb: Decimal = ZERO,
) -> dict[str, Decimal]:
    """Yearly cost, per catalogue item, of a commune's stated needs.

    Hour-based items count the weekly hours wanted; camera-based items the
    cameras to connect; ``requisition`` items twelve months of requisitions;
    ``commune`` items (options) one each. Only services the commune asked for
    are counted, plus live supervision when it wants any hours.
    """
    wanted = set(services)
    if hours_per_week:
        wanted.add("live_supervision")
    out: dict[str, Decimal] = {}
    for item in version.items:
        if item.code not in wanted:
            continue
        quantity: Decimal = {
            "hour_per_week": Decimal(hours_per_week),
            "commune": Decimal(1),
            "camera": Decimal(cameras),
            "tb": storage_tb,
            "requisition": Decimal(12 * requisitions_per_month),
        }[item.unit]
        out[item.code] = (quantity * item.unit_cost_eur_per_year).quantize(Decimal("0.01"))
    return out
