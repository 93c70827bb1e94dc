from __future__ import annotations

import numpy as np
import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.imagecheck import CameraChecker, Thresholds

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
