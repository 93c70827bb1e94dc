"""Privacy masks: validation with French errors, rasterisation against a
point-in-polygon oracle written apart, painting of 4:2:0 planes."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.masks import MAX_MASKS, Mask, PixelMask, paint_yuv420, parse_masks, raster

SQUARE = [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"label": "x"}, "liste"),
        ([{"label": "x", "points": SQUARE}] * (MAX_MASKS + 1), "Trop de masques"),
        (["x"], "Masque 1 illisible"),
        ([{"label": 3, "points": SQUARE}], "libellé"),
        ([{"label": "x", "points": SQUARE[:2]}], "de 3 à"),
        ([{"label": "x", "points": [[0, 0], [1.2, 0], [1, 1]]}], "entre 0 et 1"),
        ([{"label": "x", "points": [[0, 0], [True, 0], [1, 1]]}], "entre 0 et 1"),
        ([{"label": "x", "points": [[0, 0], [0.5, 0.5], [1, 1]]}], "alignés"),
        ([{"label": "ok", "points": SQUARE}, {"points": [[0, 0], [0, 0], [0, 0]]}], "Masque 2"),
    ],
)
def test_bad_masks_are_refused_with_what_to_do(raw: object, words: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_masks(raw)
    assert words in str(err.value) and err.value.field == "masks"


def test_good_masks_round_trip() -> None:
    masks = parse_masks(
        [{"label": " Fenêtre ", "points": SQUARE}, {"points": [[0, 0], [1, 0], [0, 1]]}]
    )
    assert masks[0] == Mask("Fenêtre", ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))
    assert parse_masks([m.to_json() for m in masks]) == masks
    assert masks[1].label == ""


def _inside(px: float, py: float, pts: tuple[tuple[float, float], ...]) -> bool:
    """Ray casting to the left, written apart from the module's vectorised scan."""
    hit = False
    n = len(pts)
    for k in range(n):
        (x1, y1), (x2, y2) = pts[k], pts[(k + 1) % n]
        if (y1 > py) != (y2 > py):
            x = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            if px < x:
                hit = not hit
    return hit


def test_raster_matches_a_point_in_polygon_oracle() -> None:
    rng = random.Random(6)
    for _ in range(30):
        masks = []
        for _ in range(rng.randint(1, 3)):
            pts = [[rng.random(), rng.random()] for _ in range(rng.randint(3, 7))]
            try:
                masks.extend(parse_masks([{"points": pts}]))
            except InvalidArgument:
                continue  # a random flat polygon
        w, h = rng.randint(8, 40), rng.randint(8, 30)
        got = raster(masks, w, h)
        for y in range(h):
            for x in range(w):
                px, py = (x + 0.5) / w, (y + 0.5) / h
                want = any(_inside(px, py, m.points) for m in masks)
                assert got[y, x] == want, (masks, w, h, x, y)


def test_whole_picture_and_empty() -> None:
    full = parse_masks([{"points": [[0, 0], [1, 0], [1, 1], [0, 1]]}])
    assert raster(full, 7, 5).all()
    assert not raster([], 7, 5).any()


def test_paint_black_in_limited_and_full_range() -> None:
    mask = PixelMask.of(parse_masks([{"points": SQUARE}]), 8, 8)
    y = np.full((8, 8), 200, np.uint8)
    u = np.full((4, 4), 90, np.uint8)
    v = np.full((4, 4), 160, np.uint8)
    paint_yuv420((y, u, v), mask)
    assert (y[2:6, 2:6] == 16).all() and (y[~mask.luma] == 200).all()
    assert (u[1:3, 1:3] == 128).all() and (v[1:3, 1:3] == 128).all()
    assert u[0, 0] == 90 and v[3, 3] == 160
    y2 = np.full((8, 8), 200, np.uint8)
    paint_yuv420((y2, u.copy(), v.copy()), mask, full_range=True)
    assert (y2[2:6, 2:6] == 0).all()


def test_chroma_of_odd_sizes_covers_every_masked_pixel() -> None:
    pm = PixelMask.of(parse_masks([{"points": [[0.9, 0.9], [1, 0.9], [1, 1], [0.9, 1]]}]), 9, 7)
    assert pm.chroma.shape == (4, 5) and pm.chroma[3, 4] and pm.chroma.sum() == 1
