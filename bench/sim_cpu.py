"""CPU cost of the camera simulator's RTSP server.

N cameras of 1920x1080, 25 fps, 4 Mbps (one shared pre-encoded clip), each
read by one ``ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`` client.
Measures the server process's CPU (percent of one core) over a window, and
the clients' CPU as the baseline (the cost of merely receiving the streams).

    .venv/bin/python bench/sim_cpu.py [--quick] [--cameras 16,64]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procstat import cpu_s, progress_frames, stop_all
from vigie.sim.clips import ClipSpec
from vigie.sim.runner import SimCamera, SimServer, default_cache_dir

CLIP = ClipSpec(
    label="Vigie bench 1080p",
    width=1920,
    height=1080,
    fps=25,
    gop_frames=50,
    bitrate_kbps=4000,
    duration_s=10,
)
TARGET_CPU_PCT_PER_STREAM = 1.5
TARGET_FPS_MIN = 24.0


def run(n: int, warmup_s: float, window_s: float, cache_dir: Path) -> dict[str, float]:
    cameras = [SimCamera(id=i, name=f"bench {i}", main=CLIP) for i in range(1, n + 1)]
    with SimServer(cameras, cache_dir=cache_dir) as sim, tempfile.TemporaryDirectory() as tmp:
        assert sim.pid is not None
        clients: list[tuple[subprocess.Popen[bytes], Path]] = []
        for cam in cameras:
            progress = Path(tmp) / f"{cam.id}.txt"
            cmd = ["/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error",
                   "-progress", str(progress), "-stats_period", "0.5", "-rtsp_transport", "tcp",
                   "-i", sim.url(cam.id), "-c", "copy", "-f", "null", "-"]  # fmt: skip
            clients.append((subprocess.Popen(cmd, stderr=subprocess.DEVNULL), progress))
        time.sleep(warmup_s)
        t0, s0 = time.monotonic(), cpu_s(sim.pid)
        c0 = [cpu_s(p.pid) for p, _ in clients]
        f0 = [progress_frames(f) for _, f in clients]
        time.sleep(window_s)
        elapsed = time.monotonic() - t0
        server_pct = 100 * (cpu_s(sim.pid) - s0) / elapsed
        client_pct = (
            100 * sum(cpu_s(p.pid) - c for (p, _), c in zip(clients, c0, strict=True)) / elapsed
        )
        # Progress is written every 0.5 s: allow for that granularity.
        fps = [
            (progress_frames(f) - f0_) / elapsed for (_, f), f0_ in zip(clients, f0, strict=True)
        ]
        stop_all((p for p, _ in clients), signal.SIGINT)
    return {
        "cameras": n,
        "server_cpu_pct": round(server_pct, 1),
        "cpu_pct_per_stream": round(server_pct / n, 2),
        "client_cpu_pct_per_stream": round(client_pct / n, 2),
        "fps_min": round(min(fps), 1),
        "fps_mean": round(sum(fps) / n, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 cameras, short window")
    parser.add_argument("--cameras", default=None, help="comma-separated counts (default 16,64)")
    parser.add_argument("--window-s", type=float, default=None)
    args = parser.parse_args()
    counts = [int(c) for c in (args.cameras or ("16" if args.quick else "16,64")).split(",")]
    window = args.window_s or (10.0 if args.quick else 20.0)
    rows = [run(n, 5.0 + n / 8, window, default_cache_dir()) for n in counts]

    print(
        f"{'cameras':>8} {'server %':>9} {'%/stream':>9} {'client %/stream':>16} {'fps min':>8} {'fps mean':>9}"
    )
    for r in rows:
        print(f"{r['cameras']:>8} {r['server_cpu_pct']:>9} {r['cpu_pct_per_stream']:>9} "
              f"{r['client_cpu_pct_per_stream']:>16} {r['fps_min']:>8} {r['fps_mean']:>9}")  # fmt: skip
    worst = max(rows, key=lambda r: r["cameras"])
    met = all(r["cpu_pct_per_stream"] <= TARGET_CPU_PCT_PER_STREAM for r in rows) and all(
        r["fps_min"] >= TARGET_FPS_MIN for r in rows
    )
    print(json.dumps({
        "bench": "sim", "quick": args.quick, "targets_met": met,
        "metrics": {k: v for k, v in worst.items()} | {"runs": rows},
        "baseline": {"client_cpu_pct_per_stream": worst["client_cpu_pct_per_stream"]},
        "targets": {"cpu_pct_per_stream": f"<= {TARGET_CPU_PCT_PER_STREAM}", "fps_min": f">= {TARGET_FPS_MIN}"},
    }))  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
