"""The same migrations and models on a real PostgreSQL server, started by the
test itself (a throw-away cluster on a free port, owned by the postgres user)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from vigie.domain.communes import load_reference_communes
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.models import Camera
from vigie.storage.repositories import upsert_communes

pytestmark = pytest.mark.integration
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*cmd: str) -> list[str]:
    return list(cmd) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries missing: run `make test` (installs postgresql)")
    # Not under pytest's tmp dir: that one is private to root, the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    data, sockdir = base / "data", base / "sock"
    sockdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockdir, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "vigie", "--auth=trust", "-E", "UTF8"),
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start",
            "-o", f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1",
        ),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        url = f"postgresql+psycopg://vigie@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 20
        while True:
            try:
                make_engine(url).connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def test_migrations_and_models_on_postgresql(pg_url: str) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    factory = make_sessionmaker(engine)
    paris = timezone(timedelta(hours=1))
    with session_scope(factory) as s:
        created, _ = upsert_communes(s, load_reference_communes())
        assert created == 95
        cam = Camera(
            name="Grand Place", commune_insee="59350", main_url="rtsp://192.0.2.1/m",
            created_at=datetime(2026, 3, 29, 2, 30, tzinfo=paris),
        )  # fmt: skip
        s.add(cam)
    with session_scope(factory) as s:
        row = s.query(Camera).one()
        assert row.created_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert row.created_at.tzinfo is not None
        tables = set(
            s.execute(text("select tablename from pg_tables where schemaname='public'")).scalars()
        )
    assert {"communes", "cameras", "accounts", "alembic_version"} <= tables
    assert any(t.startswith("admin_") for t in tables)
    with pytest.raises(Exception, match="naive"), session_scope(factory) as s:
        s.add(
            Camera(
                name="x",
                commune_insee="59350",
                main_url="rtsp://h/x",
                created_at=datetime(2026, 1, 1),
            )
        )
        s.flush()
    engine.dispose()
