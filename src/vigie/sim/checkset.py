"""The image-check test set: short clips with known truth, made by ffmpeg.

The set is this table (kept in the repository); the clips themselves are
encoded at test time from ffmpeg's ``testsrc2`` scene, so no binary is
committed. Each clip names which technical checks must fire on it and from
which second (a frozen picture is only "frozen" after the camera's delay).

Truth is about the camera, never about people: the scene is a test pattern.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from vigie.sim.clips import FFMPEG

WIDTH, HEIGHT, FPS = 320, 240, 5
SCENE = f"testsrc2=s={WIDTH}x{HEIGHT}:r={FPS}"
DAY_NOISE = "noise=alls=6:allf=t"
NIGHT = "eq=brightness=-0.30:contrast=0.45,noise=alls=28:allf=t"
FREEZE = "trim=end_frame=1,loop=loop=-1:size=1:start=0"


@dataclass(frozen=True)
class CheckClip:
    name: str
    graph: str
    truth: frozenset[str]
    truth_from_s: float = 0.0
    seconds: int = 12


CHECKSET: tuple[CheckClip, ...] = (
    CheckClip("normal", f"{SCENE},{DAY_NOISE}", frozenset()),
    CheckClip("night", f"{SCENE},{NIGHT}", frozenset()),
    CheckClip(
        "covered",
        f"color=c=0x0e0e0e:s={WIDTH}x{HEIGHT}:r={FPS},{DAY_NOISE}",
        frozenset({"covered"}),
    ),
    CheckClip(
        "covered_grey",
        f"color=c=0x1c1c1c:s={WIDTH}x{HEIGHT}:r={FPS},noise=alls=20:allf=t",
        frozenset({"covered"}),
    ),
    CheckClip("defocused", f"{SCENE},boxblur=5:2,{DAY_NOISE}", frozenset({"blurred"})),
    CheckClip(
        "defocused_night",
        f"{SCENE},boxblur=6:2,eq=brightness=-0.2:contrast=0.6",
        frozenset({"blurred"}),
    ),
    CheckClip(
        "moved_zoom",
        f"{SCENE},crop={WIDTH * 3 // 4}:{HEIGHT * 3 // 4}:{WIDTH // 4}:0,scale={WIDTH}:{HEIGHT},{DAY_NOISE}",
        frozenset({"moved"}),
    ),
    CheckClip(
        "moved_pan",
        f"{SCENE},crop={WIDTH * 2 // 3}:{HEIGHT}:0:0,scale={WIDTH}:{HEIGHT},hflip,{DAY_NOISE}",
        frozenset({"moved"}),
    ),
    CheckClip(
        "moved_night",
        f"{SCENE},crop={WIDTH * 2 // 3}:{HEIGHT}:{WIDTH // 3}:0,scale={WIDTH}:{HEIGHT},{NIGHT}",
        frozenset({"moved"}),
    ),
    CheckClip("frozen", f"{SCENE},{FREEZE}", frozenset({"frozen"}), truth_from_s=5.0),
    CheckClip("frozen_night", f"{SCENE},{NIGHT},{FREEZE}", frozenset({"frozen"}), truth_from_s=5.0),
)
REFERENCE = CheckClip("reference", f"{SCENE},{DAY_NOISE}", frozenset(), seconds=2)


def clip_path(clip: CheckClip, directory: Path) -> Path:
    return directory / f"{clip.name}.mp4"


def ensure_checkset(directory: Path) -> dict[str, Path]:
    """Encode every clip (H.264, one keyframe per second) unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for clip in (REFERENCE, *CHECKSET):
        out = clip_path(clip, directory)
        if not out.exists():
            tmp = out.with_suffix(".tmp.mp4")
            cmd = [
                FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", clip.graph, "-t", str(clip.seconds),
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
                "-pix_fmt", "yuv420p", str(tmp),
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"ffmpeg failed for {clip.name}: {proc.stderr[-1000:]}")
            tmp.rename(out)
        paths[clip.name] = out
    return paths
