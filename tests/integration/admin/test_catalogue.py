from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from vigie.admin import catalogue
from vigie.base.errors import FailedPrecondition, InvalidArgument


def test_versions_in_force_by_date(db_session: Session) -> None:
    v1 = catalogue.ensure_default(db=db_session)
    assert catalogue.ensure_default(db=db_session).id == v1.id  # idempotent
    items = [
        {
            "code": i.code,
            "label": i.label,
            "unit": i.unit,
            "unit_cost_eur_per_year": str(i.unit_cost_eur_per_year * 2),
        }
        for i in v1.items
    ]
    v2 = catalogue.create_version(
        db=db_session, label="2026-v1", valid_from=date(2026, 1, 1), items=items
    )
    assert catalogue.version_in_force(db=db_session, day=date(2025, 6, 1)).id == v1.id
    assert catalogue.version_in_force(db=db_session, day=date(2026, 6, 1)).id == v2.id
    with pytest.raises(FailedPrecondition):
        catalogue.version_in_force(db=db_session, day=date(2024, 1, 1))
    with pytest.raises(FailedPrecondition):
        catalogue.create_version(
            db=db_session, label="2026-v1", valid_from=date(2027, 1, 1), items=items
        )
    costs = catalogue.estimate_needs(
        v1, hours_per_week=10, cameras=20, services=["health_monitoring"], requisitions_per_month=2
    )
    assert costs == {
        "live_supervision": Decimal("14500.00"),
        "health_monitoring": Decimal("1900.00"),
    }


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"code": "x", "unit": "parsec", "unit_cost_eur_per_year": "1"}, "items[0].unit"),
        (
            {"code": "x", "unit": "camera", "unit_cost_eur_per_year": "-1"},
            "items[0].unit_cost_eur_per_year",
        ),
        ({"code": "", "unit": "camera", "unit_cost_eur_per_year": "1"}, "items[0].code"),
    ],
)
def test_bad_items_refused(db_session: Session, item: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        catalogue.create_version(
            db=db_session, label="bad", valid_from=date(2025, 1, 1), items=[item]
        )
    assert exc.value.field == field
