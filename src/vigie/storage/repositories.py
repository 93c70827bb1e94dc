"""Small repository functions shared by commands and services."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.domain.communes import CommuneRecord
from vigie.storage.models import Commune


def upsert_communes(session: Session, records: Iterable[CommuneRecord]) -> tuple[int, int]:
    """Insert or update communes by INSEE code; returns (created, updated)."""
    existing = {c.insee_code: c for c in session.scalars(select(Commune))}
    created = updated = 0
    for r in records:
        row = existing.get(r.insee_code)
        if row is None:
            session.add(
                Commune(
                    insee_code=r.insee_code,
                    name=r.name,
                    population=r.population,
                    population_year=r.population_year,
                    lon=r.lon,
                    lat=r.lat,
                )
            )
            created += 1
        else:
            row.name, row.population, row.population_year = r.name, r.population, r.population_year
            row.lon, row.lat = r.lon, r.lat
            updated += 1
    session.flush()
    return created, updated
