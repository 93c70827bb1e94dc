"""Migration 0008: camera passwords and URL credentials of an existing database
are sealed; URLs are left credential-free; the downgrade puts them back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import TEST_SECRET
from vigie.domain.cameras import CameraSecrets
from vigie.domain.secretbox import SecretBox
from vigie.storage.db import make_engine
from vigie.storage.migrate import downgrade, upgrade

ROWS = [
    # id, main_url, sub_url, username, password (as 0007 stored them)
    (1, "rtsp://192.0.2.1/m", None, "admin", "Clear-Pass-1"),
    (2, "rtsp://192.0.2.2/m?channel=1&user=u2&password=Query-Pass-2", "rtsp://192.0.2.2/s", None,
     None),
    (3, "rtsp://192.0.2.3/m", None, None, None),
]  # fmt: skip


def _old_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    upgrade(url, "0007_privacy_masks")
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO communes (insee_code, name, population, population_year, lon, lat) "
                "VALUES ('59350', 'Lille', 1, 2020, 3.0, 50.6)"
            )
        )
        for row in ROWS:
            c.execute(
                text(
                    "INSERT INTO cameras (id, name, commune_insee, main_url, sub_url, username, "
                    "password, kind, description, enabled, created_at, updated_at) VALUES "
                    "(:id, 'c', '59350', :m, :s, :u, :p, 'fixed', '', 1, '2026-01-01', '2026-01-01')"
                ),
                dict(zip(("id", "m", "s", "u", "p"), row, strict=True)),
            )
    engine.dispose()
    return url


def _rows(url: str, columns: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text(f"SELECT {columns} FROM cameras ORDER BY id"))]
    engine.dispose()
    return rows


def test_upgrade_seals_clear_secrets_and_downgrade_restores_them(tmp_path: Path) -> None:
    url = _old_database(tmp_path)
    upgrade(url, secret_key=TEST_SECRET)
    rows = _rows(url, "id, main_url, sub_url, username, secrets_sealed")
    assert "Clear-Pass-1" not in repr(rows) and "Query-Pass-2" not in repr(rows)
    assert [r[1] for r in rows] == [
        "rtsp://192.0.2.1/m", "rtsp://192.0.2.2/m?channel=1", "rtsp://192.0.2.3/m",
    ]  # fmt: skip
    box = SecretBox.for_camera_secrets(TEST_SECRET)
    opened = [CameraSecrets.open(box, r[4]) for r in rows]  # type: ignore[arg-type]
    assert opened[0] == CameraSecrets("Clear-Pass-1")
    assert opened[1].query["main"] == ("user=u2", "password=Query-Pass-2")
    assert rows[2][4] is None and not opened[2]
    downgrade(url, "0007_privacy_masks", secret_key=TEST_SECRET)
    assert _rows(url, "id, main_url, sub_url, username, password") == ROWS


def test_upgrade_without_the_secret_key_stops_when_there_is_something_to_seal(
    tmp_path: Path,
) -> None:
    url = _old_database(tmp_path)
    with pytest.raises(RuntimeError, match="VIGIE_SECRET_KEY"):
        upgrade(url)
    assert "password" in {
        r[1] for r in make_engine(url).connect().execute(text("PRAGMA table_info(cameras)"))
    }


def test_upgrade_without_cameras_needs_no_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    upgrade(url)
    assert _rows(url, "secrets_sealed") == []
