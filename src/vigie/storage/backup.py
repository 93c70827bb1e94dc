"""Copies of the database for ``vigie backup`` and ``vigie restore``.

SQLite: the online backup API of ``sqlite3`` takes a consistent snapshot while
the server keeps writing (in WAL mode readers never block writers). PostgreSQL:
``pg_dump`` in its custom format, restored with ``pg_restore`` in one
transaction; the password goes through ``PGPASSWORD``, never the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.base.lifeline import die_with_parent
from vigie.base.redact import redact_url
from vigie.storage.db import make_engine
from vigie.storage.migrate import alembic_config

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DUMP_NAMES = {SQLITE: "vigie.db", POSTGRESQL: "vigie.pgdump"}


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in DUMP_NAMES:
        raise FailedPrecondition(t("backup.error.unsupported_database", backend=backend))
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise FailedPrecondition(t("backup.error.unsupported_database", backend="sqlite :memory:"))
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    u: URL = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    uri = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise FailedPrecondition(t("backup.error.tool_missing", tool=tool))
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=False, preexec_fn=die_with_parent()
    )
    if done.returncode != 0:
        detail = redact_url(done.stderr.strip() or done.stdout.strip())[-2000:]
        raise FailedPrecondition(
            t("backup.error.tool_failed", tool=tool, code=done.returncode, detail=detail)
        )


def dump(url: str, dest: Path) -> None:
    """Write a consistent copy of the database at ``url`` into the new file ``dest``."""
    if kind_of(url) == SQLITE:
        path = sqlite_path(url)
        if not path.is_file():
            raise FailedPrecondition(t("backup.error.no_database", path=path))
        source = sqlite3.connect(path, timeout=30)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)  # all pages in one step: one read snapshot
            # The copy is one self-contained file; the server's WAL mode comes
            # back when a restored database is opened (``make_engine``).
            target.execute("PRAGMA journal_mode=DELETE")
            (result,) = target.execute("PRAGMA quick_check").fetchone()
            if result != "ok":
                raise FailedPrecondition(t("backup.error.sqlite_check", detail=result))
        finally:
            target.close()
            source.close()
        with dest.open("rb+") as f:
            os.fsync(f.fileno())
        return
    uri, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={uri}"], env)


def tables(url: str) -> list[str]:
    """The tables of the database at ``url`` (none for a SQLite file not yet created)."""
    if kind_of(url) == SQLITE and not sqlite_path(url).exists():
        return []
    engine = make_engine(url)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore(url: str, dump_file: Path) -> None:
    """Load ``dump_file`` (made by ``dump``) into the empty database at ``url``."""
    if kind_of(url) == SQLITE:
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        with dump_file.open("rb") as src, path.open("xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        return
    uri, env = _libpq(url)
    _run(
        ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={uri}", str(dump_file)],
        env,
    )  # fmt: skip


def revision(url: str) -> str | None:
    """The Alembic revision the database at ``url`` is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def known_revision(rev: str | None) -> bool:
    """Whether this version of Vigie has migration ``rev`` (a newer one's schema: no)."""
    if rev is None:
        return True
    try:
        return (
            ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(rev) is not None
        )
    except CommandError:
        return False
