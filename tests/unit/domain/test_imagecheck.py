from __future__ import annotations

import numpy as np
import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.imagecheck import CameraChecker, Reference, Thresholds, box, correlation, half

RNG = np.random.default_rng(5)


def scene() -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    return ((np.sin(x / 6.0) * np.cos(y / 9.0) + 1.0) * 100 + 20).astype(np.float32)


def test_dark_noisy_night_is_not_covered_nor_frozen() -> None:
    checker = CameraChecker(Thresholds(frozen_after_s=2.0))
    checker.set_reference(scene())
    for i in range(6):
        night = scene() * 0.3 + RNG.normal(0, 6, (120, 160)).astype(np.float32)
        found = checker.observe(night, float(i)).findings
        assert found == frozenset(), (i, found)


def test_flat_black_is_covered_and_repeated_picture_is_frozen() -> None:
    checker = CameraChecker(Thresholds(frozen_after_s=2.0))
    checker.set_reference(scene())
    black = np.full((120, 160), 8.0, dtype=np.float32)
    assert "covered" in checker.observe(black, 0.0).findings
    still = scene()
    assert checker.observe(still, 1.0).findings == frozenset()
    assert checker.observe(still, 2.0).findings == frozenset()
    assert checker.observe(still, 4.0).findings == frozenset({"frozen"})


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(InvalidArgument):
        Thresholds(blur_ratio=1.5)
    with pytest.raises(InvalidArgument):
        Thresholds.from_json({"blurr": 0.3})
    assert Thresholds.from_json({"moved_corr": 0.5}).moved_corr == 0.5


def test_half_and_box_average_blocks_and_crop_odd_edges() -> None:
    p = RNG.normal(100, 30, (121, 163)).astype(np.float32)
    expected2 = p[:120, :162].reshape(60, 2, 81, 2).mean(axis=(1, 3))
    assert np.abs(half(p) - expected2).max() < 1e-3
    expected4 = p[:120, :160].reshape(30, 4, 40, 4).mean(axis=(1, 3))
    assert np.abs(box(p, 4) - expected4).max() < 1e-3
    with pytest.raises(ValueError):
        box(p, 3)


def test_reference_correlation_is_the_plain_correlation() -> None:
    ref = Reference.of(scene())
    other = (scene()[::-1] + RNG.normal(0, 4, (120, 160))).astype(np.float32)
    edges = half(other)[1:-1, 1:-1]  # any array of the edges' shape
    assert abs(ref.correlation(edges) - correlation(edges, ref.edges)) < 1e-5
    assert ref.correlation(ref.edges) == pytest.approx(1.0, abs=1e-5)
    assert ref.shape == (120, 160)


def test_reference_of_another_size_is_not_compared() -> None:
    checker = CameraChecker()
    checker.set_reference(scene())
    wrong = RNG.normal(120, 40, (144, 176)).astype(np.float32)  # blurred, moved, other size
    measures = checker.observe(wrong, 0.0).measures
    assert measures.sharpness_ratio is None and measures.scene_corr is None
    checker.set_reference(scene()[::-1].copy())
    moved = checker.observe(scene(), 1.0)
    assert "moved" in moved.findings and moved.measures.scene_corr is not None
