from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from vigie.cli.main import main
from vigie.storage.migrate import upgrade


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)
    upgrade(f"sqlite:///{tmp_path / 'vigie.db'}")
    assert main(["db", "load-communes"]) == 0
    return tmp_path


def test_create_and_list(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))
    assert main(["accounts", "create", "--username", "maire", "--role", "commune_authority",
                 "--commune", "59350", "--password-stdin"]) == 0  # fmt: skip
    assert main(["accounts", "list"]) == 0
    assert "maire\tcommune_authority\tactive\t59350" in capsys.readouterr().out


def test_refusals(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        main(["accounts", "create", "--username", "x", "--role", "auditor", "--password-stdin"])
        == 2
    )
    assert "12 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password-1\n"))
    assert main(["accounts", "create", "--username", "x", "--role", "auditor", "--commune", "99999",
                 "--password-stdin"]) == 2  # fmt: skip
    assert "unknown INSEE code" in capsys.readouterr().err


def test_placeholder_secret_refused_outside_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from vigie.base.settings import Settings

    monkeypatch.delenv("VIGIE_SECRET_KEY", raising=False)
    monkeypatch.delenv("VIGIE_DEMO", raising=False)
    with pytest.raises(ValidationError, match="VIGIE_SECRET_KEY"):
        Settings()
    with pytest.raises(ValidationError):
        Settings(secret_key="x" * 40, colour="blue")  # type: ignore[call-arg]
