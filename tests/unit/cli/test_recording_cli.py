from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.unit.recording.helpers import make_camera, record
from vigie.cli.main import main
from vigie.recording.export import export_range
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)
    upgrade(f"sqlite:///{tmp_path / 'vigie.db'}")
    assert main(["db", "load-communes"]) == 0
    return tmp_path


def test_check_then_fix(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = make_sessionmaker(make_engine(f"sqlite:///{env / 'vigie.db'}"))
    with session_scope(factory) as db:
        cam_id = make_camera(db).id
    record(env / "recordings", cam_id, T0, 3)
    assert main(["check"]) == 1  # files not yet indexed
    assert "orphan_file" in capsys.readouterr().out
    assert main(["check", "--fix"]) == 0
    assert main(["check"]) == 0
    assert "cohérent" in capsys.readouterr().out


def test_export_verify_names_the_changed_file(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = make_sessionmaker(make_engine(f"sqlite:///{env / 'vigie.db'}"))
    with session_scope(factory) as db:
        cam_id = make_camera(db).id
    record(env / "recordings", cam_id, T0, 3)
    assert main(["check", "--fix"]) == 0
    with session_scope(factory) as db:
        export_range(
            db, root=env / "recordings", data_dir=env, out_dir=env / "exp", camera_id=cam_id,
            start=T0, end=T0 + timedelta(seconds=2), now=T0, operator="a",
            operator_account_id=None, recipient="r", service="s", reason="PV 2026/9",
        )  # fmt: skip
    capsys.readouterr()
    assert main(["export", "pubkey"]) == 0
    pem = capsys.readouterr().out
    (env / "pub.pem").write_text(pem)
    assert main(["export", "verify", str(env / "exp"), "--public-key", str(env / "pub.pem")]) == 0
    video = env / "exp" / "video.mp4"
    data = bytearray(video.read_bytes())
    data[-10] ^= 0x80
    video.write_bytes(bytes(data))
    assert main(["export", "verify", str(env / "exp")]) == 1
    assert "video.mp4 a été modifié" in capsys.readouterr().err
