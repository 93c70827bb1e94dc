"""Pre-encoded clips for the camera simulator.

A clip is encoded once with Debian's FFmpeg (lavfi ``testsrc2`` + two
``drawtext`` overlays: the camera label and a running clock), stored as one
Annex-B elementary stream plus an index of access units (byte offset, size,
keyframe flag). The RTSP server (``gst_server.py``) loops over that index, so
nothing is encoded at run time.

Invariants of a clip (checked by ``ClipSpec``):

* ``duration_s`` divides 60, so the loop can be aligned on wall-clock time:
  the server starts a loop so that clip time ``t`` is shown when UTC seconds
  modulo ``duration_s`` equal ``t``;
* ``fps * duration_s`` is a multiple of ``gop_frames``, so keyframes stay
  exactly every ``gop_frames`` frames across loop restarts;
* every access unit starts with an access unit delimiter, and every keyframe
  is an IDR carrying its parameter sets in band (``repeat-headers``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from vigie.base.lifeline import die_with_parent

FFMPEG = "/usr/bin/ffmpeg"
FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# Bump when the encoding recipe or the on-disk layout changes: it is part of
# the cache key, so old cache entries are simply ignored.
FORMAT_VERSION = 1

STREAM_FILE = {"h264": "stream.h264", "hevc": "stream.hevc"}
INDEX_FILE = "index.json"

Codec = Literal["h264", "hevc"]


class ClipError(RuntimeError):
    """A clip could not be encoded or its cache entry is unreadable."""


@dataclass(frozen=True)
class ClipSpec:
    """What to encode. Every field is part of the cache key."""

    label: str
    width: int = 1280
    height: int = 720
    fps: int = 25
    gop_frames: int = 50
    bitrate_kbps: int = 2000
    duration_s: int = 10
    codec: Codec = "h264"
    # H.264 profile ("baseline", "main", "high"); ignored for HEVC (Main).
    profile: str = "high"
    # x264/x265 preset: encoding speed only, never the stream's structure.
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.codec not in ("h264", "hevc"):
            raise ValueError(f"codec must be 'h264' or 'hevc', not {self.codec!r}")
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(
                f"width and height must be positive and even: {self.width}x{self.height}"
            )
        if self.fps <= 0 or self.gop_frames <= 0 or self.bitrate_kbps <= 0:
            raise ValueError("fps, gop_frames and bitrate_kbps must be positive")
        if self.duration_s <= 0 or 60 % self.duration_s:
            raise ValueError(
                f"duration_s must divide 60 (loops are aligned on the minute), not {self.duration_s}"
            )
        if self.frame_count % self.gop_frames:
            raise ValueError(
                f"fps * duration_s ({self.frame_count}) must be a multiple of gop_frames "
                f"({self.gop_frames}) so keyframes stay regular across loops"
            )
        if self.profile not in ("baseline", "main", "high"):
            raise ValueError(f"profile must be baseline, main or high, not {self.profile!r}")

    @property
    def frame_count(self) -> int:
        return self.fps * self.duration_s

    def cache_key(self) -> str:
        """Stable directory name: readable prefix plus a hash of every field."""
        payload = json.dumps({"v": FORMAT_VERSION, **asdict(self)}, sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
        slug = "".join(c if c.isalnum() else "-" for c in self.label.lower()).strip("-")[:32]
        return f"{slug or 'clip'}-{self.width}x{self.height}-{self.codec}-{digest}"


@dataclass(frozen=True)
class AccessUnit:
    """One access unit (one frame) of a clip's elementary stream."""

    offset: int
    size: int
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    """An encoded, indexed clip in the cache."""

    spec: ClipSpec
    directory: Path
    access_units: tuple[AccessUnit, ...]

    @property
    def stream_path(self) -> Path:
        return self.directory / STREAM_FILE[self.spec.codec]

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    @property
    def keyframe_indices(self) -> list[int]:
        return [i for i, au in enumerate(self.access_units) if au.keyframe]


def ensure_clip(spec: ClipSpec, cache_dir: Path) -> Clip:
    """Return the clip for ``spec``, encoding it into ``cache_dir`` if needed.

    A cache hit only reads the small index. Entries are written to a temporary
    directory and renamed into place, so a crash never leaves half a clip.
    """
    cache_dir = Path(cache_dir)
    final = cache_dir / spec.cache_key()
    if (final / INDEX_FILE).is_file():
        return _load(spec, final)
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".encoding-", dir=cache_dir))
    try:
        stream = work / STREAM_FILE[spec.codec]
        _encode(spec, stream, work)
        units = split_access_units(stream.read_bytes(), spec.codec)
        if len(units) != spec.frame_count:
            raise ClipError(
                f"encoded {len(units)} access units for {spec.label!r}, expected {spec.frame_count}"
            )
        index = {
            "format_version": FORMAT_VERSION,
            "spec": asdict(spec),
            "stream": stream.name,
            "access_units": [[au.offset, au.size, int(au.keyframe)] for au in units],
        }
        (work / INDEX_FILE).write_text(json.dumps(index, separators=(",", ":")))
        (work / "label.txt").unlink(missing_ok=True)
        try:
            os.rename(work, final)
        except OSError:
            # Another process finished the same clip first: keep theirs.
            if not (final / INDEX_FILE).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _load(spec, final)


def ensure_clips(specs: Sequence[ClipSpec], cache_dir: Path, *, jobs: int = 2) -> list[Clip]:
    """``ensure_clip`` for many specs, ``jobs`` encodes at a time, in input order."""
    unique = list(dict.fromkeys(specs))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = dict(zip(unique, pool.map(lambda s: ensure_clip(s, cache_dir), unique), strict=True))
    return [done[s] for s in specs]


def _load(spec: ClipSpec, directory: Path) -> Clip:
    try:
        index = json.loads((directory / INDEX_FILE).read_text())
        units = tuple(AccessUnit(int(o), int(n), bool(k)) for o, n, k in index["access_units"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClipError(
            f"unreadable clip index in {directory}: {exc}; delete that directory"
        ) from exc
    return Clip(spec=spec, directory=directory, access_units=units)


def _encode(spec: ClipSpec, out: Path, work: Path) -> None:
    label_file = work / "label.txt"
    label_file.write_text(spec.label, encoding="utf-8")
    label_size = max(12, spec.height // 18)
    clock_size = max(16, spec.height // 10)
    margin = max(8, spec.height // 36)
    # The label is read from a file with expansion off, so any commune name
    # (quotes, colons, percent signs) is drawn verbatim. The clock is the
    # clip's own presentation time: see the module docstring for how the
    # server aligns it on wall-clock time.
    filters = ",".join(
        [
            f"drawtext=fontfile={FONT_FILE}:textfile={label_file}:expansion=none"
            f":fontsize={label_size}:fontcolor=white:box=1:boxcolor=black@0.9"
            f":boxborderw={margin // 2}:x={margin}:y={margin}",
            f"drawtext=fontfile={FONT_FILE}:text='%{{pts\\:hms}}'"
            f":fontsize={clock_size}:fontcolor=yellow:box=1:boxcolor=black@0.9"
            f":boxborderw={margin // 2}:x={margin}:y={2 * margin + label_size + margin}",
        ]
    )
    rate = [
        "-b:v",
        f"{spec.bitrate_kbps}k",
        "-maxrate",
        f"{spec.bitrate_kbps}k",
        "-bufsize",
        f"{spec.bitrate_kbps}k",
    ]
    if spec.codec == "h264":
        codec_args = [
            "-c:v",
            "libx264",
            "-preset",
            spec.preset,
            "-profile:v",
            spec.profile,
            "-bf",
            "0",
            "-g",
            str(spec.gop_frames),
            "-keyint_min",
            str(spec.gop_frames),
            "-sc_threshold",
            "0",
            *rate,
            "-x264-params",
            "aud=1:repeat-headers=1",
            "-f",
            "h264",
        ]
    else:
        gop = spec.gop_frames
        codec_args = [
            "-c:v",
            "libx265",
            "-preset",
            spec.preset,
            *rate,
            "-x265-params",
            f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0"
            ":aud=1:repeat-headers=1:log-level=error",
            "-f",
            "hevc",
        ]
    cmd = [
        FFMPEG,
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps}:duration={spec.duration_s}",
        "-vf",
        filters,
        "-pix_fmt",
        "yuv420p",
        *codec_args,
        str(out),
    ]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, preexec_fn=die_with_parent()
        )
    except FileNotFoundError as exc:
        raise ClipError(f"{FFMPEG} not found: install Debian's ffmpeg (make sys)") from exc
    if proc.returncode != 0:
        raise ClipError(f"ffmpeg failed encoding {spec.label!r}: {proc.stderr.strip()[-2000:]}")


# NAL unit types that matter here.
_H264_AUD, _H264_IDR = 9, 5
_HEVC_AUD = 35
_HEVC_IRAP = range(16, 22)


def split_access_units(data: bytes, codec: Codec) -> list[AccessUnit]:
    """Split an Annex-B stream into access units at each access unit delimiter.

    Each unit starts at its delimiter's start code (the 4-byte form included)
    and runs to the next one. A unit is a keyframe if it holds an IDR (H.264)
    or IRAP (HEVC) slice.
    """
    starts: list[tuple[int, int]] = []  # (start-code position, NAL type)
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        header = pos + 3
        if header >= len(data):
            break
        begin = pos - 1 if pos > 0 and data[pos - 1] == 0 else pos
        nal_type = data[header] & 31 if codec == "h264" else data[header] >> 1 & 63
        starts.append((begin, nal_type))
        pos = data.find(b"\x00\x00\x01", header)
    aud = _H264_AUD if codec == "h264" else _HEVC_AUD
    units: list[AccessUnit] = []
    current: int | None = None
    key = False
    for begin, nal_type in starts:
        if nal_type == aud:
            if current is not None:
                units.append(AccessUnit(current, begin - current, key))
            current, key = begin, False
        elif (codec == "h264" and nal_type == _H264_IDR) or (
            codec == "hevc" and nal_type in _HEVC_IRAP
        ):
            key = True
    if current is not None:
        units.append(AccessUnit(current, len(data) - current, key))
    if not units:
        raise ClipError("no access unit delimiter found: was the clip encoded with aud=1?")
    return units
