"""Backup of a running centre and restore on a fresh data directory.

The simulator feeds ``vigie serve``; after a few seconds of recording and one
export made through the API, ``vigie backup`` runs (as the CLI, while the
server records). Restored into a fresh directory: the audit log verifies, the
export's manifest verifies with the restored signing key, and the recording
index rebuilt from the files gives the same timeline as the original's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.integration.stack import running_stack, small_camera
from vigie.base.clock import RealClock
from vigie.recording import index
from vigie.recording.manifest import load_or_create_key, public_pem, verify
from vigie.recording.models import Transmission
from vigie.storage.db import make_engine, make_sessionmaker, session_scope

SUPERVISOR = ("superviseur", "vigie-demo-superviseur")


def _vigie(env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run_env = dict(env, VIGIE_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli.main", *args],
        env=run_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _export(client: httpx.Client, cam_id: int, start: datetime) -> dict[str, object]:
    r = client.post(f"/api/cameras/{cam_id}/exports", json={
        "start": start.isoformat(), "end": (start + timedelta(seconds=2)).isoformat(),
        "recipient": "Lt Durand", "service": "SLPJ Lille", "reason": "Réquisition PV 2026/412",
    })  # fmt: skip
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/api/exports/jobs/{r.json()['job_id']}").json()
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _spans(
    data_dir: Path, cam_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    engine = make_engine(f"sqlite:///{data_dir / 'vigie.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            tl = index.timeline(db, cam_id, start, end)
            return [(s.start_utc, s.end_utc) for s in tl.spans]
    finally:
        engine.dispose()


def _transmissions(data_dir: Path) -> list[Transmission]:
    engine = make_engine(f"sqlite:///{data_dir / 'vigie.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            return list(db.scalars(select(Transmission)))
    finally:
        engine.dispose()


def test_backup_while_recording_then_restore(tmp_path: Path) -> None:
    src = tmp_path / "vigie"
    plain, full = tmp_path / "backups" / "plain", tmp_path / "backups" / "full"
    with running_stack(tmp_path, [small_camera(1, "Beffroi")]) as stack:
        client = stack.client(SUPERVISOR)
        stack.wait_for(
            client, lambda c: c["Beffroi"]["status"]["main"]["state"] == "online", 30, "online"
        )
        cam_id = stack.cameras(client)["Beffroi"]["id"]
        segs = stack.recorded(cam_id, 4)
        job = _export(client, cam_id, segs[0].start_utc)
        # both backups while the media process keeps writing and indexing
        done = _vigie(stack.env, src, "backup", str(plain))
        assert done.returncode == 0, done.stderr + stack.log()[-3000:]
        assert "Sauvegarde écrite" in done.stdout
        done = _vigie(stack.env, src, "backup", "--with-recordings", str(full))
        assert done.returncode == 0, done.stderr
        time.sleep(2)  # recording goes on after the backups
        env = stack.env
        client.close()

    # The original, stopped: rows follow its files (what `vigie check --fix` does).
    assert _vigie(env, src, "check", "--fix").returncode == 0
    window = (segs[0].start_utc - timedelta(minutes=1), RealClock().now() + timedelta(minutes=1))
    original = _spans(src, cam_id, *window)
    assert original and original[0][1] - original[0][0] >= timedelta(seconds=5), original

    # 1. Without recordings: the recordings volume is kept (here: copied) apart.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copytree(src / "recordings", restored / "recordings")
    done = _vigie(env, restored, "restore", str(plain))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Index des enregistrements reconstruit" in done.stdout, done.stdout
    assert "1 export(s) rattaché(s)" in done.stdout, done.stdout
    audit = _vigie(env, restored, "audit", "verify")
    assert audit.returncode == 0 and "intègre" in audit.stdout, audit.stdout + audit.stderr
    assert _spans(restored, cam_id, *window) == original
    check = _vigie(env, restored, "check")
    assert check.returncode == 0, check.stdout
    pem = public_pem(load_or_create_key(restored))
    assert pem == public_pem(load_or_create_key(src))
    (tr,) = _transmissions(restored)
    assert tr.id == job["transmission_id"] and Path(tr.export_dir).parent == restored / "exports"
    result = verify(Path(tr.export_dir), pem)
    assert result.ok, result.problems
    manifest = json.loads((Path(tr.export_dir) / "manifest.json").read_text())
    assert manifest["manifest"]["frames"] == job["frames"]

    # 2. With the recordings, onto an empty directory: what the backup copied.
    again = tmp_path / "restored-full"
    done = _vigie(env, again, "restore", str(full))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _vigie(env, again, "audit", "verify").returncode == 0
    assert _vigie(env, again, "check").returncode == 0
    copied = _spans(again, cam_id, *window)
    assert copied and copied[0][0] == original[0][0]
    assert copied[-1][1] - copied[0][0] >= timedelta(seconds=4)  # what was indexed before
    assert all(any(a <= s and e <= b for a, b in original) for s, e in copied), (copied, original)
    (tr2,) = _transmissions(again)
    assert verify(Path(tr2.export_dir), pem).ok
    # the backups carry no secret
    for b in (plain, full):
        blob = b"".join(p.read_bytes() for p in b.rglob("*.json"))
        assert env["VIGIE_SECRET_KEY"].encode() not in blob
    assert (plain / "data" / "keys" / "export_ed25519.pem").stat().st_mode & 0o777 == 0o600
