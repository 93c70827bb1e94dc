"""Live path: K simulated cameras ingested by one media process, M WebSocket viewers.

K cameras of 1920x1080, 25 fps, 4 Mbps, GOP 50 (one shared pre-encoded clip,
one simulator process) are ingested by one Vigie media process (started as in
production: ``python -m vigie.cli.main media``), with M viewers on M distinct
cameras in a separate client process. Then, with the same simulator and the
same window, the baseline: one ``ffmpeg -rtsp_transport tcp -i URL -c copy
-f null -`` process per camera. The two phases run one after the other (the
machine has 2 cores); the simulator's own CPU is counted on neither side.

    PYTHONPATH=src .venv/bin/python bench/live.py [--quick] [--cameras K] [--viewers M]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procstat import cpu_s, cpu_s_path, progress_frames, stop_all

NCPU = os.cpu_count() or 1
FPS = 25
TIMESCALE = 90_000
FRAME_90K = TIMESCALE // FPS
CAUGHT_UP_S = 0.1  # a viewer has caught up with live once a frame arrives this close to live

TARGET_FPS_MIN = 24.5  # "25 fps held", allowing for the window's frame quantisation
TARGET_FRAMES_LOST = 0
TARGET_CPU_RATIO = 1.15  # x the baseline's CPU per stream
TARGET_RSS_MB_PER_STREAM = 5.0
TARGET_TTFF_MS_P95 = 200.0
TARGET_LATENCY_MS_P95 = 50.0
TARGET_MAX_VIEWER_LAG_S = 1.0
FULL_CAMERAS, FULL_VIEWERS = 64, 16


# --- /proc helpers -------------------------------------------------------------------


def loop_cpu_s(pid: int) -> float:
    """CPU seconds of a process's main thread (the media process's event loop)."""
    return cpu_s_path(Path(f"/proc/{pid}/task/{pid}/stat"))


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Load:
    """The machine's load over a window: all CPUs, the simulator, the viewer client."""

    def __init__(self, sim_pid: int, client_pid: int | None = None) -> None:
        self.pids = {"sim": sim_pid} | ({"client": client_pid} if client_pid else {})
        self.t0 = time.monotonic()
        self.m0 = machine_busy()
        self.c0 = {name: cpu_s(pid) for name, pid in self.pids.items()}

    def end(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.t0
        busy, total = machine_busy()
        out = {"machine_busy_pct": 100 * (busy - self.m0[0]) / max(1, total - self.m0[1])}
        for name, pid in self.pids.items():
            out[f"{name}_cpu_pct"] = 100 * (cpu_s(pid) - self.c0[name]) / elapsed
        return out


def kb_to_mb(kb: int) -> float:
    return kb * 1024 / 1e6


def mem(pid: int) -> dict[str, float]:
    """Rss and Pss of a process in MB (10^6 bytes) from /proc/PID/smaps_rollup."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower()] = kb_to_mb(int(rest.split()[0]))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[round(q * 100) - 1]


# --- viewer client (runs in its own process: ``live.py --viewer-client CONFIG``) -----------
def parse_fragment(data: bytes) -> tuple[int, bool] | None:
    """(base decode time in 90 kHz, first sample is sync) of a moof+mdat, or None."""
    if len(data) < 8 or data[4:8] != b"moof":
        return None
    end = struct.unpack_from(">I", data, 0)[0]
    pos, dts, sync = 8, None, None
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"traf":
            sub, sub_end = pos + 8, pos + size
            while sub + 8 <= sub_end:
                bsize, bkind = struct.unpack_from(">I4s", data, sub)
                if bkind == b"tfdt":
                    version = data[sub + 8]
                    fmt = ">Q" if version == 1 else ">I"
                    dts = struct.unpack_from(fmt, data, sub + 12)[0]
                elif bkind == b"trun":
                    flags = int.from_bytes(data[sub + 9 : sub + 12], "big")
                    off = sub + 16 + (4 if flags & 0x1 else 0)
                    if flags & 0x4:  # first_sample_flags
                        sample_flags = struct.unpack_from(">I", data, off)[0]
                    else:
                        off += 4 * bool(flags & 0x100) + 4 * bool(flags & 0x200)
                        sample_flags = struct.unpack_from(">I", data, off)[0]
                    sync = not (sample_flags & 0x00010000)
                sub += bsize
        pos += size
    if dts is None or sync is None:
        return None
    return dts, sync


@dataclass
class ViewerLog:
    camera_id: int
    ttff_s: float | None = None
    first_sync: bool = False
    frames: list[tuple[float, int]] | None = None  # (arrival monotonic, dts 90 kHz)
    error: str | None = None


async def watch(
    session: Any,
    base: str,
    secret: str,
    camera_id: int,
    *,
    keep: bool,
    stop: asyncio.Event,
    account_id: int,
) -> ViewerLog:
    from vigie.domain import tickets

    _, token = tickets.issue(
        secret,
        camera_id=camera_id,
        stream="main",
        account_id=account_id,
        commune="Bench",
        now_s=time.time(),
        ttl_s=30,
    )
    log = ViewerLog(camera_id, frames=[] if keep else None)
    t0 = time.monotonic()
    try:
        async with session.ws_connect(
            f"{base}/live/{camera_id}/main?ticket={token}", max_msg_size=0, heartbeat=None
        ) as ws:
            saw_init = False
            while True:
                recv = asyncio.ensure_future(ws.receive())
                stopper = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({recv, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    break
                stopper.cancel()
                msg = recv.result()
                now = time.monotonic()
                if msg.type != 2:  # aiohttp.WSMsgType.BINARY
                    if msg.type == 1:  # TEXT: init header, status
                        continue
                    log.error = f"closed: {msg.type} {msg.data!r} {ws.close_code}"
                    break
                data: bytes = msg.data
                if data[4:8] == b"ftyp":
                    saw_init = True
                    continue
                frag = parse_fragment(data)
                if frag is None:
                    continue
                if log.ttff_s is None:
                    log.ttff_s = now - t0
                    log.first_sync = saw_init and frag[1]
                    if not keep:
                        break
                assert log.frames is not None
                log.frames.append((now, frag[0]))
    except Exception as exc:  # reported, counted as a failure by the parent
        log.error = f"{type(exc).__name__}: {exc}"
    return log


def summarise(log: ViewerLog, mark: tuple[float, float]) -> dict[str, Any]:
    """Per viewer: frames and gaps in the window, and its lag behind live.

    Lag of a frame = (arrival - dts) - min over the session of (arrival - dts):
    how much later than the most promptly delivered frame it arrived, relative
    to its place in the stream's timeline. Before its first frame that arrives
    within ``CAUGHT_UP_S`` of live, a viewer is still replaying the GOP cache
    it joined on (covered by time to first frame); the lag counts from then on.
    """
    frames = log.frames or []
    out: dict[str, Any] = {"camera_id": log.camera_id, "error": log.error}
    if not frames:
        return out | {"frames_window": 0, "gaps": 0, "max_lag_s": None, "catch_up_s": None}
    offsets = [a - d / TIMESCALE for a, d in frames]
    live = min(offsets)
    lags = [o - live for o in offsets]
    k = next((i for i, lag in enumerate(lags) if lag <= CAUGHT_UP_S), len(lags))
    in_window = [(a, d) for a, d in frames if mark[0] <= a <= mark[1]]
    gaps = 0
    for (_, d0), (_, d1) in itertools.pairwise(in_window):
        gaps += max(0, round((d1 - d0) / FRAME_90K) - 1)
    return out | {
        "frames_window": len(in_window),
        "gaps": gaps,
        "max_lag_s": max(lags[k:]) if k < len(lags) else max(lags),
        "catch_up_s": frames[min(k, len(frames) - 1)][0] - frames[0][0],
    }


async def client_main(config: dict[str, Any]) -> None:
    import aiohttp

    base, secret = config["base"], config["secret"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        viewers: list[asyncio.Task[ViewerLog]] = []
        for n, cam in enumerate(config["cameras"]):
            viewers.append(
                asyncio.create_task(
                    watch(session, base, secret, cam, keep=True, stop=stop, account_id=n + 1)
                )
            )
            await asyncio.sleep(config["stagger_s"])
        probes: list[ViewerLog] = []
        for n in range(config["probes"]):
            cam = config["probe_cameras"][n % len(config["probe_cameras"])]
            probes.append(
                await watch(session, base, secret, cam, keep=False, stop=stop, account_id=1000 + n)
            )
            await asyncio.sleep(config["probe_gap_s"])
        print("READY", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)  # MARK
        mark0 = time.monotonic()
        line = await loop.run_in_executor(None, sys.stdin.readline)  # END
        mark1 = time.monotonic()
        del line
        stop.set()
        logs = await asyncio.gather(*viewers)
    ttff = [v.ttff_s for v in [*logs, *probes] if v.ttff_s is not None]
    result = {
        "ttff_s": ttff,
        "connections": len(logs) + len(probes),
        "ttff_viewers_s": [v.ttff_s for v in logs],
        "ttff_probes_s": [v.ttff_s for v in probes],
        "failed": [v.error for v in [*logs, *probes] if v.ttff_s is None],
        "not_sync_first": sum(1 for v in [*logs, *probes] if v.ttff_s and not v.first_sync),
        "window_s": mark1 - mark0,
        "viewers": [summarise(v, (mark0, mark1)) for v in logs],
    }
    print("RESULT " + json.dumps(result), flush=True)


# --- phase A: Vigie ------------------------------------------------------------------
def http_json(url: str, token: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_online(stats_url: str, token: str, k: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        streams = http_json(stats_url, token)["streams"]
        if sum(1 for s in streams.values() if s["state"] == "online") == k:
            return
        time.sleep(0.25)
    raise RuntimeError(f"not every stream came online within {timeout_s:.0f} s")


def run_vigie(
    urls: dict[int, str], m: int, window_s: float, settle_s: float, sim_pid: int
) -> dict[str, Any]:
    from vigie.domain import tickets

    k = len(urls)
    secret = secrets.token_hex(32)
    token = tickets.internal_api_token(secret)
    port, internal_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    internal = f"http://127.0.0.1:{internal_port}"  # the internal API, loopback only
    here = Path(__file__).resolve()
    env = os.environ | {
        "VIGIE_SECRET_KEY": secret,
        "VIGIE_MEDIA_BASE_PORT": str(port),
        "VIGIE_MEDIA_INTERNAL_BASE_PORT": str(internal_port),
        "VIGIE_STREAMS_PER_PROCESS": str(max(k, 1)),
        "VIGIE_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory(prefix="vigie-bench-live-") as tmp:
        env["VIGIE_DATA_DIR"] = tmp
        err = open(Path(tmp) / "media.stderr", "wb")  # noqa: SIM115
        media = subprocess.Popen(
            [sys.executable, "-m", "vigie.cli.main", "media", "--index", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        client: subprocess.Popen[str] | None = None
        try:
            wait_http(f"{base}/healthz", 20)
            time.sleep(0.5)
            mem0 = mem(media.pid)
            body = {
                "streams": [{"camera_id": c, "stream": "main", "url": u} for c, u in urls.items()]
            }
            http_json(f"{internal}/internal/streams", token, "PUT", body)
            wait_online(f"{internal}/internal/stats", token, k, 30 + k / 2)
            # Streams past their start-up (RTSP probing of K streams at once) and with a GOP
            # cache before viewers join: in service, viewers join long-running streams.
            time.sleep(1.0 + k / 16)
            # M viewers on M distinct cameras, spread over the K cameras.
            cams = sorted(urls)
            viewed = [cams[i * k // m] for i in range(m)] if m else []
            config = {
                "base": f"ws://127.0.0.1:{port}",
                "secret": secret,
                "cameras": viewed,
                "stagger_s": 0.1,
                "probes": 2 * m,
                "probe_cameras": [c for c in cams if c not in viewed] or cams,
                "probe_gap_s": 0.15,
            }
            client = subprocess.Popen(
                [sys.executable, str(here), "--viewer-client", json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert client.stdin is not None and client.stdout is not None
            line = client.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"viewer client failed: {line!r}")
            time.sleep(settle_s)
            # --- the window ---
            s0 = http_json(f"{internal}/internal/stats", token)
            load = Load(sim_pid, client.pid)
            t0, c0, l0 = time.monotonic(), cpu_s(media.pid), loop_cpu_s(media.pid)
            client.stdin.write("MARK\n")
            client.stdin.flush()
            time.sleep(window_s)
            elapsed = time.monotonic() - t0
            cpu = cpu_s(media.pid) - c0
            loop_cpu = loop_cpu_s(media.pid) - l0
            machine = load.end()
            s1 = http_json(f"{internal}/internal/stats", token)  # viewers still attached
            mem1 = mem(media.pid)
            client.stdin.write("END\n")
            client.stdin.flush()
            out = client.stdout.read()
            client.wait(30)
        finally:
            if client is not None and client.poll() is None:
                client.kill()
            media.send_signal(signal.SIGTERM)
            try:
                media.wait(10)
            except subprocess.TimeoutExpired:
                media.kill()
                media.wait()
            err.close()
        stderr_tail = (Path(tmp) / "media.stderr").read_text(errors="replace")[-2000:]
    result_line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if result_line is None:
        raise RuntimeError(f"viewer client gave no result; media stderr: {stderr_tail}")
    viewers = json.loads(result_line[len("RESULT ") :])
    streams0, streams1 = s0["streams"], s1["streams"]
    fps = {}
    lost_ingest = 0
    for key, st in streams1.items():
        got = st["frames_total"] - streams0[key]["frames_total"]
        fps[key] = got / elapsed
        # One frame of slack for where the window's edges fall between two frames.
        lost_ingest += max(0, int(FPS * elapsed) - 1 - got)
    # dropped_frames sums the stream's current viewers: a viewer gone during the window
    # takes its count away, so only increases count (the client's dts gaps are exact).
    dropped = sum(
        max(0, st["dropped_frames"] - streams0[key]["dropped_frames"])
        for key, st in streams1.items()
    )
    views = viewers["viewers"]
    client_fps = [v["frames_window"] / viewers["window_s"] for v in views]
    gaps = sum(v["gaps"] for v in views)
    lags = [v["max_lag_s"] for v in views if v["max_lag_s"] is not None]
    watched = [st for st in streams1.values() if st["viewers"] > 0]
    p50s = [st["latency_ms_p50"] for st in watched if st["latency_ms_p50"] is not None]
    p95s = [st["latency_ms_p95"] for st in watched if st["latency_ms_p95"] is not None]
    ttff_ms = [t * 1000 for t in viewers["ttff_s"]]
    failures = len(viewers["failed"]) + sum(1 for v in views if v["error"])
    return {
        "cameras": k,
        "viewers": m,
        "window_s": elapsed,
        "cpu_pct": 100 * cpu / elapsed,
        "cpu_pct_per_stream": 100 * cpu / elapsed / k,
        "loop_cpu_pct": 100 * loop_cpu / elapsed,
        "rss_mb_0": mem0["rss"],
        "pss_mb_0": mem0["pss"],
        "rss_mb": mem1["rss"],
        "pss_mb": mem1["pss"],
        "rss_mb_per_stream": (mem1["rss"] - mem0["rss"]) / k,
        "pss_mb_per_stream": (mem1["pss"] - mem0["pss"]) / k,
        "rss_mb_per_stream_total": mem1["rss"] / k,
        "fps_min": min(fps.values()),
        "fps_mean": statistics.fmean(fps.values()),
        "client_fps_min": min(client_fps) if client_fps else None,
        "frames_lost_ingest": lost_ingest,
        "frames_dropped_viewers": dropped,
        "frames_gaps_viewers": gaps,
        "frames_lost": lost_ingest + dropped + gaps,
        "ttff_ms_p50": pct(ttff_ms, 0.50),
        "ttff_ms_p95": pct(ttff_ms, 0.95),
        "ttff_samples": len(ttff_ms),
        "ttff_ms_max_viewers": 1000 * max((t or 0.0) for t in viewers["ttff_viewers_s"] or [0.0]),
        "ttff_ms_max_probes": 1000 * max((t or 0.0) for t in viewers["ttff_probes_s"] or [0.0]),
        "ttff_not_keyframe": viewers["not_sync_first"],
        "latency_ms_p50": max(p50s) if p50s else float("nan"),
        "latency_ms_p95": max(p95s) if p95s else float("nan"),
        "latency_ms_p95_median_stream": statistics.median(p95s) if p95s else float("nan"),
        "max_viewer_lag_s": max(lags) if lags else float("nan"),
        "max_catch_up_s": max((v["catch_up_s"] or 0.0) for v in views) if views else 0.0,
        "viewer_failures": failures,
    } | machine


# --- phase B: baseline ------------------------------------------------------------------


def run_baseline(
    urls: dict[int, str], window_s: float, warmup_s: float, sim_pid: int
) -> dict[str, Any]:
    k = len(urls)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    with tempfile.TemporaryDirectory(prefix="vigie-bench-ffmpeg-") as tmp:
        try:
            for cam, url in urls.items():
                progress = Path(tmp) / f"{cam}.txt"
                cmd = ["/usr/bin/ffmpeg", "-nostdin", "-loglevel", "error",
                       "-progress", str(progress), "-stats_period", "0.5",
                       "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-"]  # fmt: skip
                procs.append((subprocess.Popen(cmd, stderr=subprocess.DEVNULL), progress))
            # Every reader has output frames, then the warm-up (probing is not the steady state).
            deadline = time.monotonic() + 30 + k / 2
            while time.monotonic() < deadline and not all(progress_frames(f) for _, f in procs):
                time.sleep(0.25)
            time.sleep(warmup_s)
            f0 = [progress_frames(f) for _, f in procs]
            load = Load(sim_pid)
            t0 = time.monotonic()
            c0 = [cpu_s(p.pid) for p, _ in procs]
            time.sleep(window_s)
            cpu = sum(cpu_s(p.pid) - c for (p, _), c in zip(procs, c0, strict=True))
            elapsed = time.monotonic() - t0
            machine = load.end()
            mems = [mem(p.pid) for p, _ in procs]
            fps = [(progress_frames(f) - n) / elapsed for (_, f), n in zip(procs, f0, strict=True)]
        finally:
            stop_all((p for p, _ in procs), signal.SIGINT)
    return {
        "window_s": elapsed,
        "cpu_pct": 100 * cpu / elapsed,
        "cpu_pct_per_stream": 100 * cpu / elapsed / k,
        "pss_mb_per_stream": statistics.fmean(m["pss"] for m in mems),
        "rss_mb_per_stream": statistics.fmean(m["rss"] for m in mems),
        "fps_min": min(fps),  # from -progress every 0.5 s: approximate
    } | machine


# --- main ------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 cameras, 4 viewers, short windows")
    parser.add_argument("--cameras", type=int, default=None)
    parser.add_argument("--viewers", type=int, default=None)
    parser.add_argument("--window-s", type=float, default=None)
    parser.add_argument("--viewer-client", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer_client is not None:
        asyncio.run(client_main(json.loads(args.viewer_client)))
        return 0

    from vigie.sim.clips import ClipSpec
    from vigie.sim.runner import SimCamera, SimServer, default_cache_dir

    k = args.cameras or (16 if args.quick else FULL_CAMERAS)
    m = args.viewers if args.viewers is not None else (4 if args.quick else FULL_VIEWERS)
    m = min(m, k)
    window = args.window_s or (8.0 if args.quick else 20.0)
    clip = ClipSpec(
        label="Vigie bench 1080p",
        width=1920,
        height=1080,
        fps=FPS,
        gop_frames=50,
        bitrate_kbps=4000,
        duration_s=10,
    )
    cameras = [SimCamera(id=i, name=f"bench {i}", main=clip) for i in range(1, k + 1)]
    started = time.monotonic()
    with SimServer(cameras, cache_dir=default_cache_dir()) as sim:
        urls = {c.id: sim.url(c.id) for c in cameras}
        assert sim.pid is not None
        vigie = run_vigie(urls, m, window, settle_s=1.0 if args.quick else 3.0, sim_pid=sim.pid)
        base = run_baseline(urls, window, warmup_s=2.0, sim_pid=sim.pid)
    total_s = time.monotonic() - started

    cpu_limit = TARGET_CPU_RATIO * base["cpu_pct_per_stream"]
    checks: dict[str, tuple[bool, str]] = {
        "fps_min": (vigie["fps_min"] >= TARGET_FPS_MIN, f">= {TARGET_FPS_MIN}"),
        "frames_lost": (vigie["frames_lost"] <= TARGET_FRAMES_LOST, f"<= {TARGET_FRAMES_LOST}"),
        "cpu_pct_per_stream": (
            vigie["cpu_pct_per_stream"] <= cpu_limit,
            f"<= {TARGET_CPU_RATIO} x baseline ({cpu_limit:.2f})",
        ),
        "rss_mb_per_stream": (
            vigie["rss_mb_per_stream"] <= TARGET_RSS_MB_PER_STREAM,
            f"<= {TARGET_RSS_MB_PER_STREAM}",
        ),
        "ttff_ms_p95": (vigie["ttff_ms_p95"] <= TARGET_TTFF_MS_P95, f"<= {TARGET_TTFF_MS_P95}"),
        "latency_ms_p95": (
            vigie["latency_ms_p95"] <= TARGET_LATENCY_MS_P95,
            f"<= {TARGET_LATENCY_MS_P95}",
        ),
        "max_viewer_lag_s": (
            vigie["max_viewer_lag_s"] <= TARGET_MAX_VIEWER_LAG_S,
            f"<= {TARGET_MAX_VIEWER_LAG_S}",
        ),
    }
    if not args.quick:
        checks["cameras"] = (k >= FULL_CAMERAS, f">= {FULL_CAMERAS}")
        checks["viewers"] = (m >= FULL_VIEWERS, f">= {FULL_VIEWERS}")
    met = all(ok for ok, _ in checks.values()) and vigie["viewer_failures"] == 0

    def fmt(v: Any) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    rows = [
        ("cameras / viewers", f"{k} / {m}", "", ""),
        ("CPU % of a core, total", fmt(vigie["cpu_pct"]), fmt(base["cpu_pct"]), ""),
        ("  of which event loop thread", fmt(vigie["loop_cpu_pct"]), "", ""),
        ("CPU % per stream", fmt(vigie["cpu_pct_per_stream"]), fmt(base["cpu_pct_per_stream"]),
         checks["cpu_pct_per_stream"][1]),
        ("RSS MB per stream (marginal)", fmt(vigie["rss_mb_per_stream"]),
         fmt(base["rss_mb_per_stream"]), checks["rss_mb_per_stream"][1]),
        ("PSS MB per stream (marginal)", fmt(vigie["pss_mb_per_stream"]),
         fmt(base["pss_mb_per_stream"]), ""),
        ("RSS MB total / K", fmt(vigie["rss_mb_per_stream_total"]), "", ""),
        ("RSS MB process, 0 / K streams", f"{vigie['rss_mb_0']:.1f} / {vigie['rss_mb']:.1f}", "",
         ""),
        ("fps min (ingest) / mean", f"{vigie['fps_min']:.2f} / {vigie['fps_mean']:.2f}",
         fmt(base["fps_min"]), checks["fps_min"][1]),
        ("fps min at the viewers", fmt(vigie["client_fps_min"]), "", ""),
        ("frames lost (ingest+drop+gaps)", f"{vigie['frames_lost']} ({vigie['frames_lost_ingest']}"
         f"+{vigie['frames_dropped_viewers']}+{vigie['frames_gaps_viewers']})", "",
         checks["frames_lost"][1]),
        ("TTFF ms p50", fmt(vigie["ttff_ms_p50"]), "", ""),
        ("TTFF ms p95", fmt(vigie["ttff_ms_p95"]), "", checks["ttff_ms_p95"][1]),
        ("latency ms p50 (worst stream)", fmt(vigie["latency_ms_p50"]), "", ""),
        ("latency ms p95 (worst stream)", fmt(vigie["latency_ms_p95"]), "",
         checks["latency_ms_p95"][1]),
        ("max viewer lag s", fmt(vigie["max_viewer_lag_s"]), "", checks["max_viewer_lag_s"][1]),
        ("max catch-up s after join", fmt(vigie["max_catch_up_s"]), "", ""),
        ("viewer failures", str(vigie["viewer_failures"]), "", "0"),
        ("machine busy, % of a core", fmt(NCPU * vigie["machine_busy_pct"]),
         fmt(NCPU * base["machine_busy_pct"]), f"of {100 * NCPU}"),
        ("simulator CPU %", fmt(vigie["sim_cpu_pct"]), fmt(base["sim_cpu_pct"]), ""),
        ("viewer client CPU %", fmt(vigie["client_cpu_pct"]), "", ""),
    ]  # fmt: skip
    print(f"live bench: {k} cameras, {m} viewers, window {window:.0f} s, total {total_s:.0f} s")
    print(f"{'metric':<32} {'vigie':>16} {'baseline':>10}  target")
    for name, a, b, target in rows:
        print(f"{name:<32} {a:>16} {b:>10}  {target}")

    def r(v: Any, nd: int = 2) -> Any:
        return round(v, nd) if isinstance(v, float) else v

    metrics = {
        name: r(vigie[name])
        for name in ("cameras", "viewers", "cpu_pct_per_stream", "rss_mb_per_stream", "fps_min",
                     "frames_lost", "ttff_ms_p50", "ttff_ms_p95", "latency_ms_p50",
                     "latency_ms_p95", "max_viewer_lag_s")
    }  # fmt: skip
    extra = {
        name: r(vigie[name])
        for name in ("cpu_pct", "loop_cpu_pct", "pss_mb_per_stream", "rss_mb_per_stream_total", "rss_mb_0",
                     "rss_mb", "pss_mb", "fps_mean", "client_fps_min", "frames_lost_ingest",
                     "frames_dropped_viewers", "frames_gaps_viewers", "ttff_samples", "ttff_ms_max_viewers", "ttff_ms_max_probes",
                     "latency_ms_p95_median_stream",
                     "ttff_not_keyframe", "max_catch_up_s", "viewer_failures", "window_s", "machine_busy_pct",
                     "sim_cpu_pct", "client_cpu_pct")
    }  # fmt: skip
    print(
        json.dumps(
            {
                "bench": "live",
                "quick": args.quick,
                "targets_met": met,
                "metrics": metrics | {"details": extra},
                "baseline": {
                    "cpu_pct_per_stream": r(base["cpu_pct_per_stream"]),
                    "pss_mb_per_stream": r(base["pss_mb_per_stream"]),
                    "details": {k2: r(v) for k2, v in base.items()},
                },
                "targets": {name: target for name, (_, target) in checks.items()},
            }
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
