"""Coverage plan service: a commune's CSU staffed hours (our table) plus the
centre's delegation windows (the authority model's)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vigie.continuity.models import StaffedWindow
from vigie.domain.coverage import Plan
from vigie.domain.schedule import Span, WeeklyWindow
from vigie.storage.delegations import delegation_windows


def centre_windows(db: Session, commune_insee: str) -> tuple[list[WeeklyWindow], list[Span]]:
    """The centre's weekly delegation windows and one-off handovers for a commune:
    the active delegations of the authority model (issue #4)."""
    return delegation_windows(db, commune_insee, "cmsu")


def staffed_windows(db: Session, commune_insee: str) -> list[WeeklyWindow]:
    rows = db.scalars(
        select(StaffedWindow)
        .where(StaffedWindow.commune_insee == commune_insee)
        .order_by(StaffedWindow.weekday, StaffedWindow.start_min)
    )
    return [WeeklyWindow(r.weekday, r.start_min, r.end_min) for r in rows]


def set_staffed_windows(db: Session, commune_insee: str, windows: list[WeeklyWindow]) -> None:
    db.execute(delete(StaffedWindow).where(StaffedWindow.commune_insee == commune_insee))
    for w in windows:
        db.add(
            StaffedWindow(
                commune_insee=commune_insee,
                weekday=w.weekday,
                start_min=w.start_min,
                end_min=w.end_min,
            )
        )
    db.flush()


def plan_for(db: Session, commune_insee: str) -> Plan:
    centre, spans = centre_windows(db, commune_insee)
    return Plan(staffed_windows(db, commune_insee), centre, spans)
