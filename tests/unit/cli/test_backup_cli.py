"""``vigie backup`` / ``vigie restore`` on SQLite: the round trip, and every refusal
with the message the operator reads."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.unit.recording.helpers import make_camera, record
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.cli import backup as cli_backup
from vigie.cli.main import main as vigie_main
from vigie.recording import index
from vigie.recording.export import export_range
from vigie.recording.manifest import load_or_create_key, public_pem, verify
from vigie.recording.models import Transmission
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.models import AuditEntry

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)


# The commands run on a simulated clock handed to them (``main(argv, clock=)``).
CLOCK: dict[str, SimulatedClock] = {}


def main(argv: list[str]) -> int:
    return vigie_main(argv, clock=CLOCK.get("now"))


def _factory(data_dir: Path):  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(f"sqlite:///{data_dir / 'vigie.db'}"))


@pytest.fixture
def centre(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    """A data directory with 8 s of recording, one export and audit entries."""
    src = tmp_path / "src"
    src.mkdir()
    _use(monkeypatch, src)
    monkeypatch.setitem(CLOCK, "now", SimulatedClock(T0 + timedelta(days=1)))
    upgrade(f"sqlite:///{src / 'vigie.db'}")
    assert main(["db", "load-communes"]) == 0
    factory = _factory(src)
    with session_scope(factory) as db:
        cam = make_camera(db).id
    record(src / "recordings", cam, T0, 8)
    with session_scope(factory) as db:
        index.sync(db, src / "recordings", now=T0)
        export_range(
            db, root=src / "recordings", data_dir=src, out_dir=src / "exports" / f"{cam}-x",
            camera_id=cam, start=T0, end=T0 + timedelta(seconds=3), now=T0, operator="sup",
            operator_account_id=None, recipient="Lt Durand", service="SLPJ", reason="PV 2026/9",
        )  # fmt: skip
    (src / "checks").mkdir()
    (src / "checks" / f"{cam}.npy").write_bytes(b"reference picture")
    return src, cam


def _timeline(data_dir: Path, cam: int) -> list[tuple[datetime, datetime]]:
    with session_scope(_factory(data_dir)) as db:
        tl = index.timeline(db, cam, T0 - timedelta(minutes=1), T0 + timedelta(minutes=1))
    return [(s.start_utc, s.end_utc) for s in tl.spans]


def test_round_trip_with_recordings(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    src, cam = centre
    before = _timeline(src, cam)
    assert before and before[0][1] - before[0][0] >= timedelta(seconds=7)
    bdir = tmp_path / "backups" / "b1"
    assert main(["backup", str(bdir), "--with-recordings"]) == 0
    out = capsys.readouterr().out
    assert "Sauvegarde écrite" in out and "enregistrements compris" in out
    doc = json.loads((bdir / "backup.json").read_text())["backup"]
    names = {e["name"] for e in doc["files"]}
    assert "database/vigie.db" in names and "settings.json" in names
    assert "data/keys/export_ed25519.pem" in names
    assert f"data/exports/{cam}-x/video.mp4" in names and f"data/checks/{cam}.npy" in names
    assert any(n.startswith(f"data/recordings/{cam}/") for n in names)
    assert not any("vigie.db-wal" in n for n in names)
    assert TEST_SECRET not in (bdir / "settings.json").read_text()
    assert "secret_key" not in json.loads((bdir / "settings.json").read_text())
    key_entry = next(e for e in doc["files"] if e["name"].endswith(".pem"))
    assert key_entry["mode"] == 0o600 and (bdir / key_entry["name"]).stat().st_mode & 0o777 == 0o600

    dst = tmp_path / "restored"
    _use(monkeypatch, dst)
    assert main(["restore", str(bdir)]) == 0
    out = capsys.readouterr().out
    assert "Restauration terminée" in out and "1 export(s) rattaché(s)" in out
    assert main(["audit", "verify"]) == 0
    assert "intègre" in capsys.readouterr().out
    assert _timeline(dst, cam) == before
    assert main(["check"]) == 0
    # the export verifies with the restored centre's key, and the API finds it
    pem = public_pem(load_or_create_key(dst))
    assert pem == public_pem(load_or_create_key(src))
    with session_scope(_factory(dst)) as db:
        (tr,) = db.scalars(select(Transmission))
        assert Path(tr.export_dir) == dst / "exports" / f"{cam}-x"
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert verify(Path(tr.export_dir), pem).ok
    assert actions[-1] == "backup_restored" and "export" in actions
    assert (dst / "keys" / "export_ed25519.pem").stat().st_mode & 0o777 == 0o600


def test_backup_without_recordings_rebuilds_the_index_from_the_kept_files(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    src, cam = centre
    bdir = tmp_path / "b"
    assert main(["backup", str(bdir)]) == 0
    assert "sans les enregistrements" in capsys.readouterr().out
    doc = json.loads((bdir / "backup.json").read_text())["backup"]
    assert not any(e["name"].startswith("data/recordings") for e in doc["files"])
    # Recording continued after the backup: the index follows the files.
    record(src / "recordings", cam, T0 + timedelta(seconds=8), 4)
    with session_scope(_factory(src)) as db:
        index.sync(db, src / "recordings", now=T0)
    after = _timeline(src, cam)
    dst = tmp_path / "restored"
    dst.mkdir()
    os.symlink(src / "recordings", dst / "recordings")  # the recordings volume, kept
    _use(monkeypatch, dst)
    assert main(["restore", str(bdir)]) == 0
    assert "Index des enregistrements reconstruit" in capsys.readouterr().out
    assert _timeline(dst, cam) == after
    assert main(["check"]) == 0


def test_restore_without_the_recordings_in_place_leaves_the_index_alone(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    src, cam = centre
    before = _timeline(src, cam)
    bdir = tmp_path / "b"
    assert main(["backup", str(bdir)]) == 0
    _use(monkeypatch, tmp_path / "restored")
    assert main(["restore", str(bdir)]) == 0
    assert "lancez `vigie check --fix`" in capsys.readouterr().out
    assert _timeline(tmp_path / "restored", cam) == before  # nothing registered as destroyed


def _backup(tmp_path: Path, name: str = "b") -> Path:
    bdir = tmp_path / name
    assert main(["backup", str(bdir)]) == 0
    return bdir


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def test_restore_refuses_a_non_empty_data_directory(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bdir = _backup(tmp_path)
    dst = tmp_path / "restored"
    dst.mkdir()
    (dst / "notes.txt").write_text("x")
    _use(monkeypatch, dst)
    err = _refused(capsys, ["restore", str(bdir)])
    assert "n'est pas vide (notes.txt)" in err and "Rien n'a été restauré" in err
    assert sorted(p.name for p in dst.iterdir()) == ["notes.txt"]
    # onto the running centre itself: refused just the same
    _use(monkeypatch, centre[0])
    assert "n'est pas vide" in _refused(capsys, ["restore", str(bdir)])


def test_restore_refuses_a_tampered_file_and_names_it(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bdir = _backup(tmp_path)
    key = bdir / "data" / "keys" / "export_ed25519.pem"
    data = bytearray(key.read_bytes())
    data[40] ^= 0x01  # same size, other content
    key.write_bytes(bytes(data))
    dst = tmp_path / "restored"
    _use(monkeypatch, dst)
    err = _refused(capsys, ["restore", str(bdir)])
    assert "Sauvegarde altérée" in err and "data/keys/export_ed25519.pem a été modifié" in err
    assert not dst.exists() or not any(dst.iterdir())
    (bdir / "database" / "vigie.db").unlink()
    err = _refused(capsys, ["restore", str(bdir)])
    assert "2 anomalie(s)" in err and "absent : database/vigie.db" in err


def test_restore_refuses_an_edited_manifest(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bdir = _backup(tmp_path)
    # Replace a file and write its new hash into the manifest: the seal breaks.
    target = bdir / "settings.json"
    target.write_text('{"port": 1}\n')
    sealed = json.loads((bdir / "backup.json").read_text())
    for e in sealed["backup"]["files"]:
        if e["name"] == "settings.json":
            e["sha256"] = cli_backup._sha256(target)
            e["size_bytes"] = target.stat().st_size
    (bdir / "backup.json").write_text(json.dumps(sealed))
    _use(monkeypatch, tmp_path / "restored")
    err = _refused(capsys, ["restore", str(bdir)])
    assert "scellé HMAC invalide" in err


def test_restore_refuses_a_missing_manifest_or_another_secret(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bdir = _backup(tmp_path)
    _use(monkeypatch, tmp_path / "restored")
    monkeypatch.setenv("VIGIE_SECRET_KEY", "another-secret-" + "y" * 40)
    err = _refused(capsys, ["restore", str(bdir)])
    assert "VIGIE_SECRET_KEY n'est pas la clé du centre sauvegardé" in err
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)
    (bdir / "backup.json").unlink()
    err = _refused(capsys, ["restore", str(bdir)])
    assert "backup.json est absent" in err and "interrompue" in err
    (bdir / "backup.json").write_text("{not json")
    assert "illisible" in _refused(capsys, ["restore", str(bdir)])


def test_restore_refuses_a_backup_of_a_newer_schema(
    centre: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bdir = _backup(tmp_path)
    sealed = json.loads((bdir / "backup.json").read_text())
    sealed["backup"]["database"]["schema_revision"] = "9999_future"
    sealed["hmac_sha256"] = cli_backup.seal(Settings(), sealed["backup"])
    (bdir / "backup.json").write_text(json.dumps(sealed))
    _use(monkeypatch, tmp_path / "restored")
    assert "version plus récente de Vigie" in _refused(capsys, ["restore", str(bdir)])


def test_backup_refuses_a_used_directory_or_one_inside_the_data_directory(
    centre: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _ = centre
    bdir = _backup(tmp_path)
    assert "n'est pas vide" in _refused(capsys, ["backup", str(bdir)])
    assert "est dans le répertoire de données" in _refused(capsys, ["backup", str(src / "backup")])
    assert "--keep N demande --dated" in _refused(
        capsys, ["backup", str(tmp_path / "c"), "--keep", "2"]
    )


def test_dated_backups_keep_the_newest(
    centre: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = tmp_path / "nightly"
    parent.mkdir()
    for name in ("20261120T023000Z", "20261121T023000Z", "20261122T023000Z"):
        (parent / name).mkdir()
        (parent / name / "backup.json").write_text("{}")
    (parent / "20261119T023000Z").mkdir()  # an interrupted one, older
    (parent / "keep-me").mkdir()  # not ours
    assert main(["backup", "--dated", "--keep", "2", str(parent)]) == 0  # at T0 + 1 day
    left = sorted(p.name for p in parent.iterdir())
    assert left == ["20261122T023000Z", "20261127T200000Z", "keep-me"]
    newest = parent / left[1]
    assert (newest / "backup.json").is_file() and "supprimée" in capsys.readouterr().out


def test_backup_leaves_out_the_demo_secret(centre: tuple[Path, int], tmp_path: Path) -> None:
    """The secret key is never in a backup, the demo's own one neither."""
    from vigie.cli.demo import DEMO_SECRET_FILE

    src, _cam = centre
    (src / DEMO_SECRET_FILE).write_text("d" * 64 + "\n")
    bdir = tmp_path / "backups" / "b1"
    assert main(["backup", str(bdir)]) == 0
    names = {e["name"] for e in json.loads((bdir / "backup.json").read_text())["backup"]["files"]}
    assert "data/keys/export_ed25519.pem" in names
    assert not any(DEMO_SECRET_FILE in n for n in names), names


def _camera_secrets(data_dir: Path) -> list[tuple[str, str | None, object]]:
    from vigie.domain.cameras import CameraSecrets
    from vigie.domain.secretbox import SecretBox
    from vigie.storage.models import Camera

    box = SecretBox.for_camera_secrets(TEST_SECRET)
    with session_scope(_factory(data_dir)) as db:
        return [
            (c.main_url, c.username, CameraSecrets.open(box, c.secrets_sealed).password)
            for c in db.scalars(select(Camera).order_by(Camera.id))
        ]


@pytest.mark.parametrize("schema", ["head", "0007_privacy_masks"])
def test_camera_secrets_survive_backup_and_restore_never_in_clear(
    schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key that seals them is derived from VIGIE_SECRET_KEY, which a backup
    never holds and a restore must share; a backup from before the sealing
    (schema 0007, clear passwords) is sealed when restored."""
    from sqlalchemy import text

    src = tmp_path / "src"
    src.mkdir()
    _use(monkeypatch, src)
    monkeypatch.setitem(CLOCK, "now", SimulatedClock(T0))
    url = f"sqlite:///{src / 'vigie.db'}"
    upgrade(url, schema, secret_key=TEST_SECRET)
    assert main(["db", "load-communes"]) == 0
    engine = make_engine(url)
    with engine.begin() as c:
        if schema == "head":
            from vigie.domain.cameras import CameraSecrets
            from vigie.domain.secretbox import SecretBox

            sealed = CameraSecrets("Backup-Pass-1").seal(SecretBox.for_camera_secrets(TEST_SECRET))
            column, value = "secrets_sealed", sealed
        else:
            column, value = "password", "Backup-Pass-1"
        c.execute(
            text(
                f"INSERT INTO cameras (name, commune_insee, main_url, username, {column}, kind, "
                "description, enabled, privacy_masks, created_at, updated_at) VALUES ('c', "
                "'59350', 'rtsp://192.0.2.1/m', 'u', :v, 'fixed', '', 1, '[]', '2026-01-01', "
                "'2026-01-01')"
            ),
            {"v": value},
        )
    engine.dispose()
    bdir = tmp_path / "b"
    assert main(["backup", str(bdir)]) == 0
    clear_in_backup = any(
        b"Backup-Pass-1" in p.read_bytes() for p in bdir.rglob("*") if p.is_file()
    )
    assert clear_in_backup == (schema != "head")  # an old backup holds what the old DB held
    dst = tmp_path / "restored"
    _use(monkeypatch, dst)
    assert main(["restore", str(bdir)]) == 0
    assert _camera_secrets(dst) == [("rtsp://192.0.2.1/m", "u", "Backup-Pass-1")]
    with session_scope(_factory(dst)) as db:
        rows = repr(db.execute(text("SELECT * FROM cameras")).all())
    assert "Backup-Pass-1" not in rows
