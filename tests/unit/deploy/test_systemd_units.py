"""The systemd units of docs/deploy/: ``systemd-analyze verify`` (offline: no
running systemd needed) accepts them without a single warning, they carry the
hardening the install guide promises, their commands parse with today's CLI,
and the example environment file lists every setting with its true default."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from vigie.base.settings import Settings
from vigie.cli.main import build_parser

DEPLOY = Path(__file__).parents[3] / "docs" / "deploy"
VIGIE_BIN = "/opt/vigie/venv/bin/vigie"
SERVICES = sorted(DEPLOY.glob("*.service"))
TIMERS = sorted(DEPLOY.glob("*.timer"))


def _analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze missing: run `make test` (installs the systemd package)")
    return path


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        key, _, value = line.partition("=")
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def _staged(tmp_path: Path, texts: dict[str, str]) -> list[Path]:
    """The units in a temp dir, ExecStart pointed at a real executable (verify
    refuses a unit whose binary is absent, and this machine has no /opt/vigie)."""
    fake = tmp_path / "bin" / "vigie"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    out = []
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text(text.replace(VIGIE_BIN, str(fake)))
        out.append(path)
    return out


def verify_problems(units: list[Path]) -> list[str]:
    """What ``systemd-analyze verify`` says about these units. It exits 0 on an
    unknown key or a bad value (it only warns), so every line naming one of our
    units counts, whatever the exit status."""
    done = subprocess.run(
        [_analyze(), "verify", *map(str, units)], capture_output=True, text=True, timeout=60
    )
    names = {u.name for u in units} | {str(u.parent) for u in units}
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if any(n in ln for n in names)]
    if done.returncode != 0 and not lines:
        lines = [f"exit {done.returncode}: {done.stderr.strip()}"]
    return lines


def test_units_are_shipped() -> None:
    names = {p.name for p in SERVICES + TIMERS}
    assert {"vigie.service", "vigie-backup.service", "vigie-backup.timer",
            "vigie-audit-verify.service", "vigie-audit-verify.timer"} <= names  # fmt: skip
    for timer in TIMERS:
        assert (DEPLOY / timer.name.replace(".timer", ".service")).is_file(), timer.name


def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    units = _staged(tmp_path, {p.name: p.read_text() for p in SERVICES + TIMERS})
    assert verify_problems(units) == []


def test_verify_catches_a_malformed_unit(tmp_path: Path) -> None:
    good = (DEPLOY / "vigie.service").read_text()
    for broken, says in [
        (good.replace("Restart=on-failure", "Restart=sometimes"), "restart specifier"),
        (good.replace("[Service]", "[Service]\nProtectSytem=strict"), "Unknown key"),
        (good.replace("[Install]", "[Instal]"), "Unknown section"),
    ]:
        case = tmp_path / str(abs(hash(broken)))
        case.mkdir()
        problems = verify_problems(_staged(case, {"vigie.service": broken}))
        assert problems and says in " ".join(problems), problems
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "vigie.service").write_text(good)  # ExecStart not on this machine
    assert "not executable" in " ".join(verify_problems([missing / "vigie.service"]))


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_services_are_hardened(path: Path) -> None:
    unit = parse_unit(path.read_text())
    svc = {k: values(unit, "Service", k) for k, _ in unit["Service"]}
    for key, want in [
        ("User", "vigie"), ("Group", "vigie"), ("KillMode", "control-group"),
        ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
        ("EnvironmentFile", "/etc/vigie/vigie.env"), ("ProtectHome", "yes"),
        ("Environment", "VIGIE_DATA_DIR=/var/lib/vigie"), ("WorkingDirectory", "/var/lib/vigie"),
    ]:  # fmt: skip
        assert svc.get(key) == [want], (path.name, key, svc.get(key))
    writable = " ".join(svc.get("ReadWritePaths", [])).split()
    assert "/var/lib/vigie" in writable or svc.get("StateDirectory") == ["vigie"]
    assert svc.get("CapabilityBoundingSet") == [""] and svc.get("AmbientCapabilities") == [""]


def test_vigie_service_restarts_on_failure() -> None:
    unit = parse_unit((DEPLOY / "vigie.service").read_text())
    assert values(unit, "Service", "Restart") == ["on-failure"]
    assert values(unit, "Service", "ExecStart") == [f"{VIGIE_BIN} serve"]
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_exposure_stays_low(path: Path, tmp_path: Path) -> None:
    (unit,) = _staged(tmp_path, {path.name: path.read_text()})
    done = subprocess.run(
        [_analyze(), "security", "--offline=yes", "--threshold=25", str(unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_commands_parse_with_the_cli(path: Path) -> None:
    (cmd,) = values(parse_unit(path.read_text()), "Service", "ExecStart")
    argv = shlex.split(cmd)
    assert argv[0] == VIGIE_BIN
    build_parser().parse_args(argv[1:])  # exits (SystemExit) on an unknown option


def test_timers_persist() -> None:
    for timer in TIMERS:
        unit = parse_unit(timer.read_text())
        assert values(unit, "Timer", "OnCalendar") and values(unit, "Timer", "Persistent") == [
            "true"
        ]
        assert values(unit, "Install", "WantedBy") == ["timers.target"]


def test_env_example_lists_every_setting_with_its_default() -> None:
    text = (DEPLOY / "vigie.env.example").read_text()
    found = re.findall(r"^(#?)VIGIE_([A-Z0-9_]+)=(.*)$", text, flags=re.M)
    names = [n.lower() for _, n, _ in found]
    assert sorted(names) == sorted(Settings.model_fields), "vigie.env.example vs settings.py"
    assert len(names) == len(set(names))
    assert [n for c, n, _ in found if not c] == ["SECRET_KEY"]  # the one to fill in
    secret = "s" * 40
    for commented, name, value in found:
        if not commented:
            continue
        field = name.lower()
        parsed = getattr(Settings(secret_key=secret, **{field: value}), field)
        want = (
            Path("/var/lib/vigie") if field == "data_dir" else Settings.model_fields[field].default
        )
        assert parsed == want, (name, value)


def test_vigie_admin_wrapper_is_valid_shell() -> None:
    wrapper = DEPLOY / "vigie-admin"
    assert wrapper.stat().st_mode & stat.S_IXUSR
    subprocess.run(["sh", "-n", str(wrapper)], check=True)
    assert "EnvironmentFile=/etc/vigie/vigie.env" in wrapper.read_text()
