"""Reading delegations as schedules: shared by the access decision (control)
and the coverage plan (continuity), which must not import each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.domain.schedule import Span, WeeklyWindow
from vigie.storage.models import Delegation


def delegation_rule(d: Delegation) -> tuple[list[WeeklyWindow], list[Span]]:
    windows = [WeeklyWindow.from_json(w) for w in d.windows]
    spans = [
        Span(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in d.spans
    ]
    return windows, spans


def delegation_windows(
    db: Session, commune_insee: str, grantee: str = "cmsu"
) -> tuple[list[WeeklyWindow], list[Span]]:
    """The current weekly windows and one-off handovers of a commune to a grantee
    (all active delegations merged) — what the coverage plan draws."""
    windows: list[WeeklyWindow] = []
    spans: list[Span] = []
    for d in db.scalars(
        select(Delegation).where(
            Delegation.commune_insee == commune_insee,
            Delegation.grantee == grantee,
            Delegation.revoked_at.is_(None),
        )
    ):
        w, s = delegation_rule(d)
        windows += w
        spans += s
    return windows, spans
