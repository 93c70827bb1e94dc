"""The check picture: the decoder's luma plane, block-averaged, grey scale."""

from __future__ import annotations

import av
import numpy as np

from vigie.media.keyframes import _to_grey, block_factor, luma_blocks

RNG = np.random.default_rng(11)


def test_block_factor_keeps_at_least_80x60() -> None:
    assert block_factor(640, 360) == 6
    assert block_factor(1920, 1080) == 18
    assert block_factor(352, 288) == 4
    assert block_factor(320, 240) == 4
    assert block_factor(80, 60) == 1
    assert block_factor(70, 50) == 1


def test_luma_blocks_is_the_block_mean_of_a_strided_plane() -> None:
    padded = RNG.integers(0, 256, (361, 700), dtype=np.uint8)
    plane = padded[:, :641]  # a row stride larger than the width, odd sizes
    for k in (1, 2, 3, 6, 18):
        out = luma_blocks(plane, k)
        h, w = (361 // k) * k, (641 // k) * k
        expected = plane[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
        assert out.dtype == np.float32 and out.shape == (h // k, w // k)
        assert np.abs(out - expected).max() < 1e-3, k


def test_limited_range_luma_is_stretched_to_full_grey() -> None:
    plane = np.full((6, 6), 16, dtype=np.uint8)
    plane[:3] = 235
    out = luma_blocks(plane, 3, limited_range=True)
    assert np.allclose(out, [[255.0, 255.0], [0.0, 0.0]], atol=1e-3)


def _frame(width: int, height: int, fmt: str) -> av.VideoFrame:
    y, x = np.mgrid[0:height, 0:width]
    yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
    yuv[:height] = (126 + 100 * np.sin(x / 17.0) * np.cos(y / 23.0)).astype(np.uint8)
    return av.VideoFrame.from_ndarray(yuv, format=fmt)


def test_grey_of_a_decoder_frame_matches_a_grey_conversion() -> None:
    frame = _frame(648, 360, "yuv420p")
    grey = _to_grey(frame)
    assert grey.shape == (60, 108)
    converted = frame.reformat(width=108, height=60, format="gray", interpolation="AREA")
    assert np.abs(grey - converted.to_ndarray()).max() < 1.5


def test_grey_reads_the_plane_with_its_row_stride() -> None:
    frame = _frame(650, 362, "yuv420p")
    assert frame.planes[0].line_size > 650  # padded rows
    luma = frame.to_ndarray()[:362, :650].astype(np.float64)
    expected = ((luma[:360, :648] - 16.0) * 255.0 / 219.0).reshape(60, 6, 108, 6).mean(axis=(1, 3))
    assert np.abs(_to_grey(frame) - expected).max() < 1e-3


def test_full_range_luma_is_not_stretched() -> None:
    frame = _frame(320, 240, "yuvj420p")
    luma = frame.to_ndarray()[:240].astype(np.float64)
    expected = luma.reshape(60, 4, 80, 4).mean(axis=(1, 3))
    assert np.abs(_to_grey(frame) - expected).max() < 1e-3
