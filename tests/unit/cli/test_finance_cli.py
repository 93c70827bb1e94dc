from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from vigie.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "participation_scenario.json"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_subsidy_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "finance", "subsidy", "--eligible-cost", "100000", "--total-cost", "120000",
        "--other-subsidies", "30000", "--priority", "--multi-commune", "--date", "2025-03-01", "--json",
    )  # fmt: skip
    assert out["rate_percent"] == "50.00"
    assert out["base_amount"] == "50000.00"
    assert out["ceiling"] == "300000.00"
    assert out["legal_cap"] == "45000.00"
    assert out["amount"] == "45000.00"
    assert out["limited_by"] == "legal_cap"


def test_subsidy_ceiling_flag(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "finance", "subsidy", "--eligible-cost", "80000", "--total-cost", "80000",
        "--ceiling", "10000", "--date", "2025-03-01", "--json",
    )  # fmt: skip
    assert (out["amount"], out["limited_by"], out["ceiling"]) == ("10000.00", "ceiling", "10000.00")


def test_subsidy_bad_input_exits_2_with_french_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["finance", "subsidy", "--eligible-cost", "10", "--total-cost", "100",
                 "--other-subsidies", "150", "--json"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "Autres subventions" in err and "coût total" in err


def test_participation_json_sums_to_cost(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "finance", "participation", "--scenario", str(EXAMPLE), "--json")
    communes = out["communes"]
    assert isinstance(communes, list) and len(communes) == 38
    assert (
        sum(Decimal(c["amount"]) for c in communes)
        == Decimal(str(out["total"]))
        == Decimal("1850000.00")
    )


def test_console_entry_point_runs_as_a_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vigie.cli.main", "finance", "subsidy", "--eligible-cost", "1000",
         "--total-cost", "1000", "--date", "2025-03-01", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(proc.stdout)["amount"] == "300.00"
