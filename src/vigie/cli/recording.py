"""``vigie check`` (recording index vs files) and ``vigie export verify|pubkey``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vigie.base.settings import Settings


def register(sub: Any) -> None:
    c: argparse.ArgumentParser = sub.add_parser(
        "check", help="compare the recording index with the files; --fix repairs it"
    )
    c.add_argument("--fix", action="store_true", help="repair: rows follow the files")
    c.set_defaults(func=_check)
    e: argparse.ArgumentParser = sub.add_parser("export", help="signed exports")
    esub = e.add_subparsers(dest="export_command", required=True, metavar="ACTION")
    v = esub.add_parser("verify", help="check an export's signature and file hashes")
    v.add_argument("directory", type=Path, help="the export folder (holds manifest.json)")
    v.add_argument(
        "--public-key", type=Path, default=None, help="the centre's public key (PEM) to trust"
    )
    v.set_defaults(func=_verify)
    k = esub.add_parser("pubkey", help="print the public key that signs exports (PEM)")
    k.set_defaults(func=_pubkey)


def _check(args: argparse.Namespace) -> int:
    from vigie.base.i18n import t
    from vigie.recording import index
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    root = settings.data_dir / "recordings"
    with session_scope(make_sessionmaker(engine, args.clock)) as db:
        problems = index.check(db, root, now=args.clock.now(), fix=args.fix)
        for p in problems:
            print(f"{p.kind}: {p.message}" + (" — corrigé" if p.fixed else ""))
        if not problems:
            from sqlalchemy import func, select

            from vigie.recording.models import RecordingSegment

            n = db.scalar(select(func.count()).select_from(RecordingSegment)) or 0
            print(t("recording.check.ok", segments=n))
    return 1 if problems and not args.fix else 0


def _verify(args: argparse.Namespace) -> int:
    from vigie.base.i18n import t
    from vigie.recording.manifest import verify

    pem = args.public_key.read_text() if args.public_key else None
    result = verify(args.directory, pem)
    if result.ok:
        import json

        doc = json.loads((args.directory / "manifest.json").read_text())
        print(t("recording.export.verify_ok", count=len(doc["manifest"]["files"])))
        return 0
    for problem in result.problems:
        print(problem, file=sys.stderr)
    return 1


def _pubkey(args: argparse.Namespace) -> int:
    from vigie.recording.manifest import load_or_create_key, public_pem

    print(public_pem(load_or_create_key(Settings().data_dir)), end="")
    return 0
