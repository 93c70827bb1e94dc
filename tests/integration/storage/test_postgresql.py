"""The same migrations and models on a real PostgreSQL server, started by the
test itself (a throw-away cluster on a free port, owned by the postgres user)."""

from __future__ import annotations

import json
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


def _create_database(pg_url: str, name: str) -> str:
    engine = make_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def test_backup_with_pg_dump_and_restore_with_pg_restore(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import TEST_SECRET
    from vigie.cli.main import main
    from vigie.recording.manifest import load_or_create_key, public_pem
    from vigie.storage import audit
    from vigie.storage.models import AuditEntry

    src_url, dst_url = (_create_database(pg_url, n) for n in ("vigie_src", "vigie_dst"))
    # A password in the URL (the test server trusts anyway): it reaches pg_dump
    # through PGPASSWORD and stays out of the backup.
    src_url = src_url.replace("vigie@", "vigie:pg-pass-s3cret@")
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "src"))
    monkeypatch.setenv("VIGIE_DATABASE_URL", src_url)
    (tmp_path / "src").mkdir()
    assert main(["db", "upgrade"]) == 0 and main(["db", "load-communes"]) == 0
    engine = make_engine(src_url)
    with session_scope(make_sessionmaker(engine)) as s:
        s.add(Camera(name="Grand Place", commune_insee="59350", main_url="rtsp://192.0.2.1/m"))
        for i in range(3):
            audit.append(s, at=datetime(2026, 11, 20, 8, i, tzinfo=UTC), action="live_view",
                         actor="op", target="camera:1", reason="ronde")  # fmt: skip
    engine.dispose()
    pem = public_pem(load_or_create_key(tmp_path / "src"))
    bdir = tmp_path / "backup"
    assert main(["backup", str(bdir)]) == 0
    doc = json.loads((bdir / "backup.json").read_text())["backup"]
    assert doc["database"]["kind"] == "postgresql"
    assert (bdir / "database" / "vigie.pgdump").read_bytes()[:5] == b"PGDMP"
    assert "pg-pass-s3cret" not in "".join(p.read_text() for p in bdir.glob("*.json"))
    assert json.loads((bdir / "settings.json").read_text())["database_url"].startswith(
        "postgresql+psycopg://***@"
    )

    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "dst"))
    monkeypatch.setenv("VIGIE_DATABASE_URL", dst_url)
    assert main(["restore", str(bdir)]) == 0
    assert main(["audit", "verify"]) == 0
    assert "intègre" in capsys.readouterr().out
    engine = make_engine(dst_url)
    with session_scope(make_sessionmaker(engine)) as s:
        assert s.query(Camera).one().name == "Grand Place"
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.id)]
    engine.dispose()
    assert actions.count("live_view") == 3 and actions[-1] == "backup_restored"
    assert public_pem(load_or_create_key(tmp_path / "dst")) == pem

    # a database that is not empty is refused, and nothing is written
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "dst2"))
    assert main(["restore", str(bdir)]) == 2
    err = capsys.readouterr().err
    assert "n'est pas vide" in err and "table(s)" in err and "Rien n'a été restauré" in err
    assert not (tmp_path / "dst2").exists()
    # nor can a PostgreSQL backup land in SQLite
    monkeypatch.delenv("VIGIE_DATABASE_URL")
    assert main(["restore", str(bdir)]) == 2
    assert (
        "base postgresql mais la configuration désigne une base sqlite" in capsys.readouterr().err
    )
