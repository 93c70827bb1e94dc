"""The demo's secret key is its own, never the public placeholder (issue #13
item 10): made at the first start, mode 0600, kept across restarts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from vigie.base.errors import FailedPrecondition
from vigie.base.settings import PLACEHOLDER_SECRET, Settings
from vigie.cli.demo import DEMO_SECRET_FILE, demo_environment


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No demo variable set; whatever the demo sets is undone afterwards."""
    for name in ("VIGIE_SECRET_KEY", "VIGIE_DEMO", "VIGIE_DATA_DIR", "VIGIE_TOTP_REQUIRED"):
        monkeypatch.setenv(name, "-")  # remembered as it was before, restored after
        monkeypatch.delenv(name)
    return monkeypatch


def test_first_start_makes_a_secret_and_later_starts_keep_it(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    demo_environment(tmp_path / "demo")
    first = Settings().secret_key
    assert first != PLACEHOLDER_SECRET and len(first) == 64
    path = tmp_path / "demo" / DEMO_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first

    clean_env.delenv("VIGIE_SECRET_KEY")  # a new process
    demo_environment(tmp_path / "demo")
    assert Settings().secret_key == first

    clean_env.delenv("VIGIE_SECRET_KEY")
    clean_env.delenv("VIGIE_DATA_DIR")
    demo_environment(tmp_path / "other")  # another demo: another secret
    assert Settings().secret_key != first


def test_an_explicit_secret_is_kept_but_the_placeholder_is_replaced(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("VIGIE_SECRET_KEY", "mine-" + "m" * 40)
    demo_environment(tmp_path)
    assert Settings().secret_key == "mine-" + "m" * 40
    clean_env.setenv("VIGIE_SECRET_KEY", PLACEHOLDER_SECRET)
    demo_environment(tmp_path)
    assert Settings().secret_key not in (PLACEHOLDER_SECRET, "mine-" + "m" * 40)


def test_an_unusable_secret_file_stops_the_demo(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    (tmp_path / DEMO_SECRET_FILE).write_text(PLACEHOLDER_SECRET + "\n")
    with pytest.raises(FailedPrecondition, match=DEMO_SECRET_FILE):
        demo_environment(tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_the_placeholder_is_refused_even_in_demo_mode() -> None:
    with pytest.raises(ValidationError, match="VIGIE_SECRET_KEY"):
        Settings(demo=True, secret_key=PLACEHOLDER_SECRET)
    with pytest.raises(ValidationError, match="VIGIE_SECRET_KEY"):
        Settings(demo=True)
