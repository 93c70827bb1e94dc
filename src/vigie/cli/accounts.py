"""``vigie accounts``: create and list accounts (the first administrator of an install)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy import select

from vigie.base.errors import FailedPrecondition, InvalidArgument
from vigie.base.settings import Settings
from vigie.domain import roles

MIN_PASSWORD_LENGTH = 12


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("accounts", help="create and list accounts")
    asub = p.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")
    c = asub.add_parser("create", help="create an account (password asked, or read from stdin)")
    c.add_argument("--username", required=True)
    c.add_argument("--role", required=True, choices=roles.ALL_ROLES)
    c.add_argument("--display-name", default="")
    c.add_argument(
        "--commune", action="append", default=[], help="INSEE code it acts for (repeatable)"
    )
    c.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    c.set_defaults(func=_create)
    ls = asub.add_parser("list", help="list accounts")
    ls.set_defaults(func=_list)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmez : ") != first:
        raise InvalidArgument("password: the two entries differ; try again.", field="password")
    return first


def _create(args: argparse.Namespace) -> int:
    from vigie.control.deps import audit_key
    from vigie.control.passwords import hash_password
    from vigie.storage import audit
    from vigie.storage.db import make_engine, make_sessionmaker, session_now, session_scope
    from vigie.storage.models import Account, AccountCommune, Commune

    password = _read_password(args.password_stdin)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(
            f"password: at least {MIN_PASSWORD_LENGTH} characters are required.", field="password"
        )
    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        if db.scalar(select(Account).where(Account.username == args.username)) is not None:
            raise FailedPrecondition(
                f"username: {args.username!r} already exists.", field="username"
            )
        for code in args.commune:
            if db.get(Commune, code) is None:
                raise InvalidArgument(
                    f"commune: unknown INSEE code {code!r}; load communes with `vigie db load-communes`.",
                    field="commune",
                )
        db.add(
            Account(
                username=args.username,
                display_name=args.display_name or args.username,
                password_hash=hash_password(password),
                role=args.role,
                communes=[AccountCommune(commune_insee=c) for c in args.commune],
            )
        )
        audit.set_key(audit_key(settings))
        audit.append(db, at=session_now(db), action="account_created", actor="cli",
                     target=f"account:{args.username}",
                     details={"role": args.role, "communes": args.commune})  # fmt: skip
    print(f"account {args.username} created ({args.role})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope
    from vigie.storage.models import Account

    engine = make_engine(Settings().resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as db:
        for a in db.scalars(select(Account).order_by(Account.username)):
            communes = ",".join(c.commune_insee for c in a.communes)
            state = "active" if a.is_active else "disabled"
            print(f"{a.username}\t{a.role}\t{state}\t{communes}")
    return 0
