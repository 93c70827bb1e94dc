"""The image-check test set: short clips with known truth, made by ffmpeg.

The set is this table (kept in the repository). Two sources:
- synthetic: ffmpeg's ``testsrc2`` scene, day and night;
- recorded: real footage of a fixed camera over a street with people walking
  (OpenCV's sample ``vtest.avi``, 768×576, taken from Debian's opencv-doc at
  install time by ``scripts/fetch-footage.sh``), as is and with the faults
  applied to it (covered, defocused, turned, zoomed, frozen).
Clips are encoded at test time, so no video is committed. Each clip names
which technical checks must fire on it and from which second (a frozen
picture is only "frozen" after the camera's delay).

Truth is about the camera, never about people: people walking in the
recorded scene must fire nothing.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from vigie.base.lifeline import die_with_parent
from vigie.sim.clips import FFMPEG

WIDTH, HEIGHT, FPS = 320, 240, 5
SCENE = f"testsrc2=s={WIDTH}x{HEIGHT}:r={FPS}"
DAY_NOISE = "noise=alls=6:allf=t"
NIGHT = "eq=brightness=-0.30:contrast=0.45,noise=alls=28:allf=t"
FREEZE = "trim=end_frame=1,loop=loop=-1:size=1:start=0"


@dataclass(frozen=True)
class CheckClip:
    name: str
    graph: str  # synthetic: the lavfi source graph; recorded: filters on the footage ("" = none)
    truth: frozenset[str]
    truth_from_s: float = 0.0
    seconds: int = 12
    footage_from_s: float | None = None  # recorded: where in the footage the clip starts


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

FOOTAGE_W, FOOTAGE_H = 768, 576
RECORDED_SET: tuple[CheckClip, ...] = tuple(
    CheckClip(name, graph, frozenset(truth), truth_from_s=delay, seconds=30, footage_from_s=20.0)
    for name, graph, truth, delay in (
        ("rec_normal", "", (), 0.0),
        ("rec_covered", "eq=brightness=-0.42:contrast=0.15,noise=alls=8:allf=t", ("covered",), 0.0),
        ("rec_defocused", "boxblur=6:2", ("blurred",), 0.0),
        (
            "rec_turned",
            f"crop={FOOTAGE_W * 2 // 3}:{FOOTAGE_H}:{FOOTAGE_W // 3}:0,scale={FOOTAGE_W}:{FOOTAGE_H}",
            ("moved",),
            0.0,
        ),
        (
            "rec_zoomed",
            f"crop={FOOTAGE_W * 3 // 4}:{FOOTAGE_H * 3 // 4}:0:{FOOTAGE_H // 4}"
            f",scale={FOOTAGE_W}:{FOOTAGE_H}",
            ("moved",),
            0.0,
        ),
        ("rec_frozen", FREEZE, ("frozen",), 5.0),
    )
)
RECORDED_REFERENCE = CheckClip(
    "rec_reference", "", frozenset(), seconds=2, footage_from_s=0.0
)  # other people in the street than in the clips: a scene, not its passers-by


def clip_path(clip: CheckClip, directory: Path) -> Path:
    return directory / f"{clip.name}.mp4"


def ensure_checkset(directory: Path, footage: Path | None = None) -> dict[str, Path]:
    """Encode every clip (H.264, one keyframe per second) unless already there.

    With ``footage`` (the recorded scene), the recorded clips too.
    """
    directory.mkdir(parents=True, exist_ok=True)
    clips: list[CheckClip] = [REFERENCE, *CHECKSET]
    if footage is not None:
        if not footage.is_file():
            raise FileNotFoundError(
                f"recorded footage {footage} is missing: run `make test` (or "
                "scripts/fetch-footage.sh), which takes it from Debian's opencv-doc"
            )
        clips += [RECORDED_REFERENCE, *RECORDED_SET]
    paths: dict[str, Path] = {}
    for clip in clips:
        out = clip_path(clip, directory)
        if not out.exists():
            tmp = out.with_suffix(".tmp.mp4")
            if clip.footage_from_s is None:
                source = ["-f", "lavfi", "-i", clip.graph]
                fps = FPS
            else:
                assert footage is not None
                source = ["-ss", str(clip.footage_from_s), "-i", str(footage)]
                source += ["-vf", clip.graph] if clip.graph else []
                fps = 10  # the footage's rate
            cmd = [
                FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                *source, "-t", str(clip.seconds),
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
                "-pix_fmt", "yuv420p", str(tmp),
            ]  # fmt: skip
            proc = subprocess.run(
                cmd, capture_output=True, text=True, check=False, preexec_fn=die_with_parent()
            )
            if proc.returncode != 0:
                raise RuntimeError(f"ffmpeg failed for {clip.name}: {proc.stderr[-1000:]}")
            tmp.rename(out)
        paths[clip.name] = out
    return paths
