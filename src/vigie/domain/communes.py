"""The MEL reference communes shipped with Vigie (see ``data/SOURCES.md``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vigie.base.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class CommuneRecord:
    insee_code: str
    name: str
    population: int
    population_year: int
    lon: float
    lat: float


def _parse(text: str, source: str) -> list[CommuneRecord]:
    out: list[CommuneRecord] = []
    reader = csv.DictReader(io.StringIO(text))
    expected = {"insee_code", "name", "population", "population_year", "lon", "lat"}
    missing = expected - set(reader.fieldnames or [])
    if missing:
        raise InvalidArgument(
            f"{source}: missing columns {', '.join(sorted(missing))}; expected {', '.join(sorted(expected))}.",
            field="csv",
        )
    for line, row in enumerate(reader, start=2):
        try:
            code = row["insee_code"].strip()
            if len(code) != 5 or not code.isalnum():
                raise ValueError(f"INSEE code {code!r} must have 5 characters")
            out.append(
                CommuneRecord(
                    insee_code=code,
                    name=row["name"].strip(),
                    population=int(row["population"]),
                    population_year=int(row["population_year"]),
                    lon=float(row["lon"]),
                    lat=float(row["lat"]),
                )
            )
        except (ValueError, KeyError) as exc:
            raise InvalidArgument(f"{source}, line {line}: {exc}", field="csv") from exc
    return out


def load_reference_communes(path: Path | None = None) -> list[CommuneRecord]:
    """The 95 MEL communes, from the shipped CSV or from ``path``."""
    if path is not None:
        return _parse(path.read_text(encoding="utf-8"), str(path))
    text = (resources.files("vigie.domain") / "data" / "mel_communes.csv").read_text(
        encoding="utf-8"
    )
    return _parse(text, "mel_communes.csv")


def reference_geojson_text() -> str:
    return (resources.files("vigie.domain") / "data" / "mel_communes.geojson").read_text(
        encoding="utf-8"
    )
