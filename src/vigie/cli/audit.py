"""``vigie audit``: verify the audit log's integrity, export it, apply its 3-year retention."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from vigie.base.errors import InvalidArgument
from vigie.base.settings import Settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("audit", help="audit log: verify, export, purge")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = asub.add_parser("verify", help="check that no entry was edited, deleted or reordered")
    v.set_defaults(func=_verify)
    e = asub.add_parser("export", help="export a period (and a commune) as CSV or JSON")
    e.add_argument(
        "--from",
        dest="start",
        required=True,
        help="ISO instant with offset, e.g. 2026-11-01T00:00+01:00",
    )
    e.add_argument("--to", dest="end", required=True)
    e.add_argument("--commune", default=None, help="INSEE code")
    e.add_argument("--format", choices=("csv", "json"), default="csv")
    e.add_argument("--output", "-o", default="-", help="file (default: standard output)")
    e.set_defaults(func=_export)
    pg = asub.add_parser("purge", help="delete entries older than the retention (3 years)")
    pg.add_argument("--days", type=int, default=None, help="retention in days (default 1095)")
    pg.set_defaults(func=_purge)


def _session() -> Any:
    from vigie.control.deps import audit_key
    from vigie.storage import audit
    from vigie.storage.db import make_engine, make_sessionmaker

    settings = Settings()
    audit.set_key(audit_key(settings))
    return make_sessionmaker(make_engine(settings.resolved_database_url)), audit_key(settings)


def _verify(_args: argparse.Namespace) -> int:
    from vigie.storage import audit
    from vigie.storage.db import session_scope

    factory, key = _session()
    with session_scope(factory) as db:
        count, problems = audit.verify(db, key)
    if not problems:
        print(f"Journal d'audit intègre : {count} entrées vérifiées.")
        return 0
    print(f"Journal d'audit ALTÉRÉ : {len(problems)} anomalie(s) sur {count} entrées.")
    for p in problems:
        where = f"entrée {p.entry_id}" if p.entry_id is not None else "ancre"
        print(f"  - [{p.kind}] {where} : {p.message}")
    return 1


def _instant(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(
            f"--{name}: {text!r} n'est pas une date ISO 8601.", field=name
        ) from exc
    if value.tzinfo is None:
        raise InvalidArgument(
            f"--{name}: précisez le fuseau (ex. {text}+01:00 ou {text}Z).", field=name
        )
    return value


def _export(args: argparse.Namespace) -> int:
    from vigie.control.api.authority import audit_rows, render_audit
    from vigie.storage import audit
    from vigie.storage.db import session_now, session_scope

    factory, _key = _session()
    start, end = _instant(args.start, "from"), _instant(args.end, "to")
    with session_scope(factory) as db:
        rows = audit_rows(db, args.commune, start, end)
        body, _ = render_audit(rows, args.format)
        audit.append(db, at=session_now(db), action="audit_exported", actor="cli",
                     commune_insee=args.commune, target=f"audit:{start.isoformat()}/{end.isoformat()}",
                     details={"format": args.format, "entries": len(rows)})  # fmt: skip
    if args.output == "-":
        sys.stdout.write(body)
    else:
        Path(args.output).write_text(body, encoding="utf-8")
        print(f"{len(rows)} entrées écrites dans {args.output}", file=sys.stderr)
    return 0


def _purge(args: argparse.Namespace) -> int:
    from vigie.storage import audit
    from vigie.storage.db import session_now, session_scope

    factory, _key = _session()
    with session_scope(factory) as db:
        n = audit.purge(db, now=session_now(db), retention_days=args.days or audit.RETENTION_DAYS)
    print(f"{n} entrées de plus de {args.days or audit.RETENTION_DAYS} jours supprimées.")
    return 0
