from __future__ import annotations

import time
from pathlib import Path

import pytest

from vigie.sim.clips import ClipSpec, Codec, ensure_clip, split_access_units


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_clip_is_split_into_one_access_unit_per_frame(tmp_path: Path, codec: Codec) -> None:
    spec = ClipSpec(
        label="Lille — Grand Place 01: 100% d'essai",
        width=320,
        height=180,
        fps=25,
        gop_frames=10,
        bitrate_kbps=300,
        duration_s=2,
        codec=codec,
        preset="ultrafast",
    )
    clip = ensure_clip(spec, tmp_path)

    assert len(clip.access_units) == spec.fps * spec.duration_s
    assert clip.keyframe_indices == list(range(0, 50, 10))
    data = clip.stream_path.read_bytes()
    # The index covers the stream exactly, without gaps or overlaps.
    assert clip.access_units[0].offset == 0
    for a, b in zip(clip.access_units, clip.access_units[1:], strict=False):
        assert a.offset + a.size == b.offset
    last = clip.access_units[-1]
    assert last.offset + last.size == len(data)
    # Re-splitting the stored stream gives the stored index.
    assert tuple(split_access_units(data, codec)) == clip.access_units


def test_second_call_is_a_cache_hit(tmp_path: Path) -> None:
    spec = ClipSpec(label="Roubaix — Gare 02", width=160, height=90, duration_s=1, gop_frames=25)
    first = ensure_clip(spec, tmp_path)
    mtime = first.stream_path.stat().st_mtime_ns

    started = time.monotonic()
    second = ensure_clip(spec, tmp_path)
    assert time.monotonic() - started < 0.1
    assert second == first
    assert second.stream_path.stat().st_mtime_ns == mtime
    # Only the finished entry remains: no temporary encoding directory.
    assert [p.name for p in tmp_path.iterdir()] == [spec.cache_key()]


def test_cache_key_depends_on_every_field() -> None:
    base = ClipSpec(label="Lille")
    assert base.cache_key() == ClipSpec(label="Lille").cache_key()
    assert base.cache_key() != ClipSpec(label="Lille", gop_frames=25).cache_key()
    assert base.cache_key() != ClipSpec(label="Lille", codec="hevc").cache_key()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 7}, "duration_s must divide 60"),
        ({"gop_frames": 30, "duration_s": 1}, "multiple of gop_frames"),
        ({"width": 321}, "positive and even"),
        ({"codec": "vp9"}, "codec must be"),
        ({"profile": "high10"}, "profile must be"),
    ],
)
def test_invalid_specs_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClipSpec(label="x", **kwargs)  # type: ignore[arg-type]
