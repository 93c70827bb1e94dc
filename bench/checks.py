"""Cost of the image checks per camera at one keyframe per second.

Measures, in this process's CPU time (``time.process_time``), the work the
checks process does per keyframe: feed the keyframe sample to the camera's
long-lived decoder and reduce its luma plane to the check picture
(``vigie.media.keyframes.KeyframeDecoder``), then — Vigie side only — run
the four checks (``CameraChecker.observe``). The HTTP fetch from the media
process is not counted.
Baseline: the same decode without checks. One keyframe per second per camera
means CPU-seconds per keyframe × 100 = percent of a core per camera.
The decode-only and decode+checks passes alternate, round after round, so a
neighbour's load on this shared machine falls on both alike. The table also
shows libavcodec alone (``CodecContext.decode``, no check picture) and the
checks alone on one picture, to tell where the time goes.

Streams: the camera's main stream (1920×1080, 4 Mbps) and sub streams
(640×360 at 1 Mbps, CIF 352×288 at 512 kbps), H.264 without B-frames, one keyframe
per second, encoded by Debian's ffmpeg.
``--quick``: 40 keyframes each; full: 300.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vigie.domain.imagecheck import CameraChecker
from vigie.media.keyframes import KeyframeDecoder
from vigie.sim.clips import FFMPEG

TARGET_PCT = 0.3
STREAMS = (
    ("main 1920x1080", (1920, 1080, 4000)),
    ("sub 640x360", (640, 360, 1000)),
    ("sub CIF 352x288", (352, 288, 512)),
)


def keyframes(
    directory: Path, width: int, height: int, kbps: int, seconds: int
) -> tuple[bytes, list[bytes]]:
    """(avcC extradata, keyframe samples) of a clip like a camera's stream."""
    out = directory / f"{width}x{height}.mp4"
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r=25,noise=alls=4:allf=t",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-bf", "0",
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        extradata = bytes(stream.codec_context.extradata or b"")
        samples = [bytes(p) for p in container.demux(stream) if p.is_keyframe and p.size]
    return extradata, samples


class Pass:
    """One way of handling the keyframes, with its own decoder and CPU tally."""

    def __init__(self, extradata: bytes, samples: list[bytes], work: str) -> None:
        self.ctx = KeyframeDecoder.for_codec("h264", extradata)
        self.samples, self.work = samples, work
        self.checker = CameraChecker()
        self.checker.set_reference(KeyframeDecoder.decode_sample(self.ctx, samples[0]))
        self.cpu_s, self.n = 0.0, 0

    def run(self) -> None:
        """Every keyframe once: libavcodec only, + check picture, + checks."""
        ctx, checker, at = self.ctx, self.checker, float(self.n)
        t0 = time.process_time()
        for sample in self.samples:
            if self.work == "avcodec":
                ctx.decode(av.Packet(sample))
                continue
            picture = KeyframeDecoder.decode_sample(ctx, sample)
            if self.work == "checks":
                checker.observe(picture, at)
                at += 1.0
        self.cpu_s += time.process_time() - t0
        self.n += len(self.samples)

    @property
    def per_keyframe_s(self) -> float:
        return self.cpu_s / self.n


def cpu_per_keyframe_s(
    extradata: bytes, samples: list[bytes], repeat: int
) -> tuple[float, float, float]:
    """(libavcodec, decode, decode + checks) CPU seconds per keyframe, interleaved."""
    passes = [Pass(extradata, samples, work) for work in ("avcodec", "decode", "checks")]
    for r in range(repeat):
        for p in passes if r % 2 == 0 else passes[::-1]:
            p.run()
    avcodec, decode, full = (p.per_keyframe_s for p in passes)
    return avcodec, decode, full


def checks_only_s(picture: np.ndarray, n: int) -> float:
    checker = CameraChecker()
    checker.set_reference(picture)
    t0 = time.process_time()
    for i in range(n):
        checker.observe(picture + (i % 3), float(i))
    return (time.process_time() - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seconds = 20 if args.quick else 60
    repeat = 2 if args.quick else 5  # keyframes = seconds × repeat
    rows = []
    shapes = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h, kbps) in STREAMS:
            extradata, samples = keyframes(Path(tmp), w, h, kbps, seconds)
            cpu_per_keyframe_s(extradata, samples[:3], 1)  # warm-up
            avcodec_s, decode_s, full_s = cpu_per_keyframe_s(extradata, samples, repeat)
            ctx = KeyframeDecoder.for_codec("h264", extradata)
            picture = KeyframeDecoder.decode_sample(ctx, samples[0])
            pure_s = checks_only_s(picture, 200)
            rows.append((label, len(samples) * repeat, avcodec_s, decode_s, full_s, pure_s))
            shapes.append(picture.shape)
    print(
        f"{'stream':<16} {'keyframes':>9} {'picture':>8} {'avcodec %':>10} {'decode %':>9}"
        f" {'decode+checks %':>16} {'checks alone %':>15}"
    )
    for (label, n, a, d, f, p), (ph, pw) in zip(rows, shapes, strict=True):
        print(
            f"{label:<16} {n:>9} {f'{pw}x{ph}':>8} {a * 100:>10.3f} {d * 100:>9.3f}"
            f" {f * 100:>16.3f} {p * 100:>15.4f}"
        )
    print(
        "(percent of one core per camera at one keyframe per second; machine shared;"
        " avcodec = libavcodec alone, decode = + check picture, the baseline)"
    )
    # The checks process decodes the sub stream when a camera has one (the
    # usual case); the main-stream row is what a camera without sub costs.
    sub = rows[1]
    main_row = rows[0]
    metrics = {
        "checks_cpu_pct_per_camera": round(sub[4] * 100, 3),
        "checks_only_cpu_pct_per_camera": round(sub[5] * 100, 4),
        "main_stream_checks_cpu_pct_per_camera": round(main_row[4] * 100, 3),
    }
    baseline = {
        "decode_only_cpu_pct_per_camera": round(sub[3] * 100, 3),
        "avcodec_only_cpu_pct_per_camera": round(sub[2] * 100, 3),
        "main_stream_decode_only_cpu_pct_per_camera": round(main_row[3] * 100, 3),
    }
    met = metrics["checks_cpu_pct_per_camera"] <= TARGET_PCT
    print(
        json.dumps(
            {
                "bench": "checks",
                "quick": args.quick,
                "targets_met": met,
                "metrics": metrics,
                "baseline": baseline,
                "targets": {"checks_cpu_pct_per_camera": f"<= {TARGET_PCT}"},
            }
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
