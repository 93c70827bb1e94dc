"""``vigie db upgrade`` and ``vigie db load-communes``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vigie.base.settings import Settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("db", help="database: migrations, reference data")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dsub.add_parser("upgrade", help="apply migrations up to the newest schema")
    up.set_defaults(func=_upgrade)
    lc = dsub.add_parser("load-communes", help="load the 95 MEL communes (or a CSV of yours)")
    lc.add_argument(
        "--csv", type=Path, default=None, help="CSV with the columns of mel_communes.csv"
    )
    lc.set_defaults(func=_load_communes)


def _settings() -> Settings:
    return Settings()


def _upgrade(args: argparse.Namespace) -> int:
    from vigie.storage.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, secret_key=settings.secret_key)
    print("schema up to date")
    return 0


def _load_communes(args: argparse.Namespace) -> int:
    from vigie.domain.communes import load_reference_communes
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope
    from vigie.storage.repositories import upsert_communes

    settings = _settings()
    records = load_reference_communes(args.csv)
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        created, updated = upsert_communes(session, records)
    print(f"{len(records)} communes: {created} added, {updated} updated")
    return 0
