"""Recording: write cost and throughput, seek in a large index, export speed.

Side by side in one run (see bench/README.md):
- recording: frames of a 1080p 25 fps 4 Mbps H.264 clip (encoded here by
  FFmpeg) go through the fragmenter (as ingest does) and then the recorder;
  the recorder's own CPU time per stream-second gives
  ``record_cpu_pct_per_stream`` and its wall throughput ``write_mb_s``;
  baseline ``dd_write_mb_s``: the same bytes written in 1 MiB ``os.write``s;
- seek: an index of 100 cameras × 30 days of 5-minute segments (generated
  rows) in SQLite; ``seek_ms_p50/p95`` = index lookup + keyframe bisect +
  reading the init and the first fragment from a real segment file;
- export: ``export_mb_s`` = recorded bytes in the range / time of
  ``export_range`` (index look-up, reading the fragment headers, writing the
  faststart MP4 with its subtitle track while hashing it, signed manifest,
  transmission row and audit entry), after a 1 s warm-up export (signing key
  created, queries compiled, as in a running server); baseline
  ``copy_mb_s``: ``shutil.copyfile`` of the same files. Both sides end on
  disk, as the product's export does before it records the transmission (the
  copy then ``fsync``s each file and the directory); the same pair without
  any ``fsync`` is reported as ``export_page_cache_mb_s`` / ``copy_page_cache_mb_s``.
  A 10-minute range (~330 MB; 20 s with ``--quick``), medians of 7 rounds (3)
  that alternate which side runs first, outputs deleted and ``sync`` before
  each run. Then 10 s of the camera with a privacy mask (decode, paint,
  encode): ``masked_export_fps``, shown without a target.

    PYTHONPATH=src .venv/bin/python bench/recording.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
from sqlalchemy import insert

from vigie.base.clock import SimulatedClock
from vigie.domain.communes import load_reference_communes
from vigie.domain.signing import derive_key
from vigie.media.fragmenter import Fragment, H264Fragmenter
from vigie.media.recorder import StreamRecorder
from vigie.recording import index
from vigie.recording.export import export_range
from vigie.recording.models import RecordingSegment
from vigie.storage import audit
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.models import Camera
from vigie.storage.repositories import upsert_communes

FPS = 25
TARGET_SEEK_MS_P95 = 300.0
TARGET_EXPORT_RATIO = 0.5
TARGET_RECORD_CPU_PCT = 0.1
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def make_clip(tmp: Path, seconds: int) -> list[bytes]:
    clip = tmp / "clip.h264"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
         f"testsrc2=size=1920x1080:rate={FPS}:duration={seconds}", "-c:v", "libx264",
         "-preset", "ultrafast", "-b:v", "4M", "-g", "50", "-bf", "0", str(clip)],
        check=True,
    )  # fmt: skip
    with av.open(str(clip)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def fragments(aus: list[bytes], frames: int) -> tuple[bytes, list[Fragment]]:
    frag = H264Fragmenter()
    out: list[Fragment] = []
    init_data = b""
    for i in range(frames):
        init, f = frag.push(aus[i % len(aus)], pts=i * 3600, dts=i * 3600, read_mono=0.0)
        if init is not None:
            init_data = init.data
        if f is not None:
            out.append(f)
    return init_data, out


def bench_write(tmp: Path, aus: list[bytes], stream_s: int) -> dict[str, float]:
    from vigie.media.fragmenter import InitInfo

    init_data, frags = fragments(aus, stream_s * FPS)
    info = InitInfo(init_data, "avc1.42c028", 1920, 1080)
    clock = SimulatedClock(T0)
    rec = StreamRecorder(tmp / "rec", 1, clock=clock, roll_s=60)
    rec.on_init("1/main", info)
    c0, w0 = time.thread_time(), time.perf_counter()
    for f in frags:
        rec.on_fragment("1/main", f)
        clock.advance(1 / FPS)
    rec.stop()
    cpu, elapsed = time.thread_time() - c0, time.perf_counter() - w0
    written = int(rec.snapshot()["bytes_written"])  # type: ignore[call-overload]
    # baseline: the same bytes, dd-style
    blob = b"".join(f.data for f in frags)
    path = tmp / "dd.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    w1 = time.perf_counter()
    for i in range(0, len(blob), 1 << 20):
        os.write(fd, blob[i : i + (1 << 20)])
    os.close(fd)
    dd_s = time.perf_counter() - w1
    return {
        "record_cpu_pct_per_stream": round(cpu / stream_s * 100, 4),
        "write_mb_s": round(written / elapsed / 1e6, 1),
        "dd_write_mb_s": round(len(blob) / dd_s / 1e6, 1),
        "recorded_bytes": written,
    }


def bench_seek(tmp: Path, sample: Path, cameras: int, days: int, seeks: int) -> dict[str, float]:
    url = f"sqlite:///{tmp / 'idx.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    info = index.scan(sample)
    kf = index.pack_keyframes(info.keyframes)
    seg_s = 300
    per_cam = days * 86400 // seg_s
    t_build = time.perf_counter()
    with session_scope(factory) as db:
        upsert_communes(db, load_reference_communes())
        db.execute(insert(Camera), [
            {"id": i + 1, "name": f"C{i}", "commune_insee": "59350", "main_url": "rtsp://x"}
            for i in range(cameras)
        ])  # fmt: skip
        rows = []
        for cam in range(1, cameras + 1):
            for k in range(per_cam):
                start = T0 + timedelta(seconds=k * seg_s)
                rows.append({
                    "camera_id": cam, "path": f"{cam}/{k}.mp4", "start_utc": start,
                    "end_utc": start + timedelta(seconds=seg_s), "size_bytes": info.valid_bytes,
                    "frames": info.frames, "init_bytes": info.init_bytes, "keyframes": kf,
                    "status": "ok", "indexed_at": start,
                })  # fmt: skip
            if len(rows) >= 50_000:
                db.execute(insert(RecordingSegment), rows)
                rows = []
        if rows:
            db.execute(insert(RecordingSegment), rows)
    build_s = time.perf_counter() - t_build
    rng = random.Random(7)
    times: list[float] = []
    with factory() as db:
        for _ in range(seeks):
            cam = rng.randint(1, cameras)
            at = T0 + timedelta(seconds=rng.uniform(0, days * 86400 - 1))
            t0 = time.perf_counter()
            point = index.seek(db, cam, at)
            with sample.open("rb") as f:  # every row maps to the one real file
                head = f.read(point.segment.init_bytes)
                f.seek(point.byte_offset % max(1, info.valid_bytes))
                first = f.read(200_000)
            assert head and first
            times.append((time.perf_counter() - t0) * 1000)
            db.expunge_all()
    engine.dispose()
    times.sort()
    return {
        "seek_ms_p50": round(statistics.median(times), 2),
        "seek_ms_p95": round(times[int(len(times) * 0.95) - 1], 2),
        "index_rows": cameras * per_cam,
        "index_build_s": round(build_s, 1),
    }


def bench_export(tmp: Path, aus: list[bytes], seconds: int, rounds: int) -> dict[str, float]:
    audit.set_key(derive_key("bench-only secret", "audit"))  # the export writes an audit entry
    url = f"sqlite:///{tmp / 'exp.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    root = tmp / "exp-rec"
    _, frags = fragments(aus, (seconds + 2) * FPS)
    from vigie.media.fragmenter import InitInfo

    init_data, _ = fragments(aus, 1)
    clock = SimulatedClock(T0)
    rec = StreamRecorder(root, 1, clock=clock, roll_s=60)
    rec.on_init("1/main", InitInfo(init_data, "avc1", 1920, 1080))
    for f in frags:
        rec.on_fragment("1/main", f)
        clock.advance(1 / FPS)
    rec.stop()
    with session_scope(factory) as db:
        upsert_communes(db, load_reference_communes())
        db.add(Camera(id=1, name="Bench", commune_insee="59350", main_url="rtsp://x"))
        db.flush()
        index.sync(db, root, now=T0)
    src_bytes = sum(p.stat().st_size for p in (root / "1").iterdir())
    # A server exports many times: the first export of a process creates the
    # signing key and compiles its queries. Measured: a later one.
    with session_scope(factory) as db:
        export_range(
            db, root=root, data_dir=tmp, out_dir=tmp / "warm-up", camera_id=1, start=T0,
            end=T0 + timedelta(seconds=1), now=T0, operator="bench",
            operator_account_id=None, recipient="bench", service="bench", reason="warm-up",
        )  # fmt: skip
    # Two comparisons, each side by side: durable (the export as the product
    # does it, files fsync'ed before the transmission is recorded, against a
    # copy followed by fsync) and page cache only (no fsync on either side).
    # Rounds alternate which side goes first; before each timed run the
    # previous outputs are deleted and everything is synced, so no side pays
    # for another's writeback. Medians are compared.
    runs: dict[str, list[float]] = {k: [] for k in ("export", "copy", "export_pc", "copy_pc")}
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for side in order:
            out = tmp / side
            shutil.rmtree(out, ignore_errors=True)
            os.sync()
            durable = not side.endswith("_pc")
            if side.startswith("export"):
                with session_scope(factory) as db:
                    t0 = time.perf_counter()
                    export_range(
                        db, root=root, data_dir=tmp, out_dir=out, camera_id=1, start=T0,
                        end=T0 + timedelta(seconds=seconds + 2), now=T0, operator="bench",
                        operator_account_id=None, recipient="bench", service="bench",
                        reason="benchmark", durable=durable,
                    )  # fmt: skip
                    runs[side].append(time.perf_counter() - t0)
            else:
                out.mkdir()
                t0 = time.perf_counter()
                for p in (root / "1").iterdir():
                    shutil.copyfile(p, out / p.name)
                    if durable:
                        fd = os.open(out / p.name, os.O_RDONLY)
                        os.fsync(fd)
                        os.close(fd)
                if durable:
                    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
                    os.fsync(fd)
                    os.close(fd)
                runs[side].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in runs.items()}
    # A camera with privacy masks is exported by decoding, painting and
    # encoding every frame: its speed in frames per second (no target; the
    # stream-copy figures above do not apply to it).
    with session_scope(factory) as db:
        cam = db.get(Camera, 1)
        assert cam is not None
        cam.privacy_masks = [{"label": "bench", "points": [[0.5, 0], [1, 0], [1, 0.5], [0.5, 0.5]]}]
        db.flush()
        masked_s = 10
        t0 = time.perf_counter()
        res = export_range(
            db, root=root, data_dir=tmp, out_dir=tmp / "masked", camera_id=1, start=T0,
            end=T0 + timedelta(seconds=masked_s), now=T0, operator="bench",
            operator_account_id=None, recipient="bench", service="bench", reason="benchmark",
        )  # fmt: skip
        masked_fps = res.frames / (time.perf_counter() - t0)
    engine.dispose()
    mb_s = {k: round(src_bytes / v / 1e6, 1) for k, v in med.items()}
    return {
        "export_mb_s": mb_s["export"],
        "copy_mb_s": mb_s["copy"],
        "export_page_cache_mb_s": mb_s["export_pc"],
        "copy_page_cache_mb_s": mb_s["copy_pc"],
        "export_bytes": src_bytes,
        "rounds": rounds,
        "masked_export_fps": round(masked_fps, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    quick = args.quick
    with tempfile.TemporaryDirectory(prefix="vigie-bench-rec-") as d:
        tmp = Path(d)
        aus = make_clip(tmp, 4)
        w = bench_write(tmp, aus, 30 if quick else 300)
        sample = sorted((tmp / "rec" / "1").iterdir())[0]
        s = bench_seek(tmp, sample, 100 if not quick else 20, 30 if not quick else 7,
                       200 if quick else 1000)  # fmt: skip
        e = bench_export(tmp, aus, 20 if quick else 600, 3 if quick else 7)
    metrics = {
        "seek_ms_p50": s["seek_ms_p50"],
        "seek_ms_p95": s["seek_ms_p95"],
        "export_mb_s": e["export_mb_s"],
        "export_page_cache_mb_s": e["export_page_cache_mb_s"],
        "masked_export_fps": e["masked_export_fps"],
        "record_cpu_pct_per_stream": w["record_cpu_pct_per_stream"],
        "write_mb_s": w["write_mb_s"],
    }
    baseline = {
        "copy_mb_s": e["copy_mb_s"],
        "copy_page_cache_mb_s": e["copy_page_cache_mb_s"],
        "dd_write_mb_s": w["dd_write_mb_s"],
    }
    targets = {
        "seek_ms_p95": f"<= {TARGET_SEEK_MS_P95}",
        "export_mb_s": f">= {TARGET_EXPORT_RATIO} x copy_mb_s",
        "record_cpu_pct_per_stream": f"<= {TARGET_RECORD_CPU_PCT}",
    }
    met = (
        s["seek_ms_p95"] <= TARGET_SEEK_MS_P95
        and e["export_mb_s"] >= TARGET_EXPORT_RATIO * e["copy_mb_s"]
        and w["record_cpu_pct_per_stream"] <= TARGET_RECORD_CPU_PCT
    )
    print(f"{'metric':32} {'value':>12}  baseline")
    print(f"{'write_mb_s':32} {w['write_mb_s']:>12}  dd {w['dd_write_mb_s']}")
    print(f"{'record_cpu_pct_per_stream':32} {w['record_cpu_pct_per_stream']:>12}")
    print(f"{'seek_ms_p50 / p95':32} {s['seek_ms_p50']:>5} / {s['seek_ms_p95']:<5}"
          f"  ({s['index_rows']} rows, built in {s['index_build_s']} s)")  # fmt: skip
    print(f"{'export_mb_s (on disk, fsync)':32} {e['export_mb_s']:>12}  copy+fsync {e['copy_mb_s']}"
          f"  ({e['export_bytes'] / 1e6:.0f} MB, median of {e['rounds']})")  # fmt: skip
    print(f"{'export_page_cache_mb_s':32} {e['export_page_cache_mb_s']:>12}"
          f"  copy {e['copy_page_cache_mb_s']}  (no fsync either side; not a target:"
          " bounded by SHA-256, see bench/README.md)")  # fmt: skip
    print(f"{'masked_export_fps (1080p)':32} {e['masked_export_fps']:>12}"
          "  (privacy masks: decode, paint, libx264; 25 fps = real time; no target)")  # fmt: skip
    print(json.dumps({"bench": "recording", "quick": quick, "targets_met": met,
                      "metrics": metrics, "baseline": baseline, "targets": targets}))  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
