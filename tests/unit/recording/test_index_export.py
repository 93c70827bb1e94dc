from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.unit.recording.helpers import make_camera, record
from vigie.base.errors import InvalidArgument, NotFound
from vigie.recording import index, manifest
from vigie.recording.export import add_one_month, export_range
from vigie.recording.models import Destruction, RecordingSegment, Transmission
from vigie.storage.models import AuditEntry, Camera

T0 = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)


@pytest.fixture
def recorded(db_session: Session, tmp_path: Path) -> tuple[Path, int]:
    root = tmp_path / "recordings"
    cam = make_camera(db_session)
    record(root, cam.id, T0, 10)
    record(root, cam.id, T0 + timedelta(seconds=20), 6)  # a 10 s gap
    index.sync(db_session, root, now=T0)
    return root, cam.id


def test_index_timeline_and_seek(db_session: Session, recorded: tuple[Path, int]) -> None:
    _root, cid = recorded
    segs = db_session.scalars(select(RecordingSegment)).all()
    assert len(segs) >= 4 and all(s.status == "ok" for s in segs)
    tl = index.timeline(db_session, cid, T0 - timedelta(seconds=5), T0 + timedelta(seconds=40))
    assert [(s.start_utc, s.end_utc) for s in tl.spans] == [
        (T0, T0 + timedelta(seconds=10)),
        (T0 + timedelta(seconds=20), T0 + timedelta(seconds=26)),
    ]
    assert len(tl.gaps) == 3  # before, between, after
    p = index.seek(db_session, cid, T0 + timedelta(seconds=5, milliseconds=500))
    assert p.keyframe_utc == T0 + timedelta(seconds=5)  # GOP of 1 s
    p = index.seek(db_session, cid, T0 + timedelta(seconds=15))  # in the gap: next recording
    assert p.keyframe_utc == T0 + timedelta(seconds=20)
    with pytest.raises(InvalidArgument):
        index.timeline(db_session, cid, T0, T0 - timedelta(seconds=1))
    with pytest.raises(InvalidArgument):
        index.timeline(db_session, cid, T0.replace(tzinfo=None), T0 + timedelta(seconds=1))


def test_check_reports_and_fixes(db_session: Session, recorded: tuple[Path, int]) -> None:
    root, cid = recorded
    files = sorted((root / str(cid)).iterdir())
    files[0].unlink()
    with files[1].open("r+b") as f:
        f.truncate(files[1].stat().st_size - 50)
    (root / "999").mkdir()
    (root / "999" / "1780000000000.mp4").write_bytes(files[2].read_bytes())
    problems = index.check(db_session, root, now=T0)
    kinds = sorted(p.kind for p in problems)
    assert kinds == ["orphan_file", "orphan_row", "truncated"]
    index.check(db_session, root, now=T0, fix=True)
    assert index.check(db_session, root, now=T0) == []
    reg = db_session.scalars(select(Destruction)).all()
    assert [d.reason for d in reg] == ["file_missing"]
    assert (root / "_orphans" / "999" / "1780000000000.mp4").exists()


def test_export_plays_and_is_signed(
    db_session: Session, recorded: tuple[Path, int], tmp_path: Path
) -> None:
    root, cid = recorded
    out = tmp_path / "export1"
    res = export_range(
        db_session,
        root=root,
        data_dir=tmp_path,
        out_dir=out,
        camera_id=cid,
        start=T0 + timedelta(seconds=2),
        end=T0 + timedelta(seconds=8),
        now=T0 + timedelta(hours=1),
        operator="alice",
        operator_account_id=None,
        recipient="OPJ Martin",
        service="Commissariat de Lille",
        reason="PV 2026/1234",
    )
    assert res.frames == 150
    with av.open(str(res.video)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264"
        subs = [s for s in c.streams if s.type == "subtitle"]
        assert subs, "subtitle track present"
        frames = sum(1 for _ in c.decode(v))
        duration_s = float(c.duration or 0) / av.time_base
    assert abs(frames - 150) <= 1
    assert abs(duration_s - 6.0) <= 0.04 + 0.001
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(res.video)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Place" in probe and "location" in probe
    # moov before mdat: faststart
    head = res.video.read_bytes()[:200_000]
    assert head.index(b"moov") < head.index(b"mdat")
    assert manifest.verify(out).ok
    tr = db_session.scalars(select(Transmission)).one()
    assert tr.expires_at == add_one_month(T0 + timedelta(hours=1))
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    data = bytearray(res.video.read_bytes())
    data[len(data) // 2] ^= 0x01
    res.video.write_bytes(bytes(data))
    result = manifest.verify(out)
    assert not result.ok and "video.mp4" in result.problems[0]


def test_export_range_errors(
    db_session: Session, recorded: tuple[Path, int], tmp_path: Path
) -> None:
    root, cid = recorded
    kw = dict(
        root=root,
        data_dir=tmp_path,
        out_dir=tmp_path / "e",
        camera_id=cid,
        now=T0,
        operator="a",
        operator_account_id=None,
        recipient="r",
        service="s",
        reason="PV 1/2",
    )
    with pytest.raises(NotFound):
        export_range(
            db_session, start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1), **kw
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        export_range(db_session, start=T0, end=T0 - timedelta(hours=1), **kw)  # type: ignore[arg-type]


def test_one_month_clock() -> None:
    assert add_one_month(datetime(2026, 1, 31, 10, tzinfo=UTC)) == datetime(
        2026, 2, 28, 10, tzinfo=UTC
    )
    assert add_one_month(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(2027, 1, 5, tzinfo=UTC)


def test_export_of_a_masked_camera_is_painted_and_says_so(
    db_session: Session, recorded: tuple[Path, int], tmp_path: Path
) -> None:
    """Privacy masks (CSI L251-3): every frame of the export painted black in
    the mask, the rest as recorded; same frames, instants and gap; the
    manifest names the masks and the re-encoding."""
    root, cid = recorded
    kw: dict[str, Any] = dict(
        root=root, data_dir=tmp_path, camera_id=cid, start=T0 + timedelta(seconds=8),
        end=T0 + timedelta(seconds=23), now=T0 + timedelta(hours=1), operator="alice",
        operator_account_id=None, recipient="OPJ Martin", service="Commissariat de Lille",
        reason="PV 2026/1234",
    )  # fmt: skip
    plain = export_range(db_session, out_dir=tmp_path / "plain", **kw)
    cam = db_session.get(Camera, cid)
    assert cam is not None
    window = {"label": "Fenêtre", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5]]}
    cam.privacy_masks = [window]
    db_session.flush()
    masked = export_range(db_session, out_dir=tmp_path / "masked", **kw)
    assert masked.frames == plain.frames
    assert masked.manifest["privacy_masks"] == [window]
    assert masked.manifest["video"]["method"] == "masked_reencode"
    assert (
        plain.manifest["privacy_masks"] == [] and plain.manifest["video"]["method"] == "stream_copy"
    )
    assert manifest.verify(masked.directory).ok
    assert not [p for p in masked.directory.iterdir() if p.name.startswith(".masking")]

    def frames(path: Path) -> list[tuple[float, np.ndarray]]:  # type: ignore[type-arg]
        with av.open(str(path)) as c:
            assert [s.type for s in c.streams] == ["video", "subtitle"]
            return [(f.time or 0.0, f.to_ndarray(format="gray")) for f in c.decode(video=0)]

    a, b = frames(plain.video), frames(masked.video)
    # same instants, gap kept (sorted: the fixture's recorded times ignore its B-frames)
    assert sorted(t for t, _ in a) == pytest.approx([t for t, _ in b], abs=0.001)
    h, w = a[0][1].shape
    for (_, pa), (_, pb) in zip(a, b, strict=True):
        assert (
            pa[: h // 2 - 4, w // 2 + 4 :].mean() > 20 and pb[: h // 2 - 4, w // 2 + 4 :].max() <= 2
        )
        keep = (slice(h // 2 + 4, h), slice(0, w // 2 - 4))  # far from the mask
        assert np.abs(pa[keep].astype(int) - pb[keep].astype(int)).mean() < 3  # CRF 18
