"""Privacy masks (CSI L251-3: no view of the inside of homes nor of their
entrances): per-camera polygons in picture coordinates.

A mask is a polygon whose points are fractions of the picture, ``x`` from the
left edge (0) to the right edge (1), ``y`` from the top (0) to the bottom (1),
so one mask fits every stream of the camera (main and sub, any resolution).
``raster`` turns a camera's masks into a pixel mask (pixel centres inside a
polygon, even-odd rule); the media plane paints it black on snapshots and the
export paints it on every frame. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t

MAX_MASKS = 32
MAX_POINTS = 64
MAX_LABEL = 100


@dataclass(frozen=True, slots=True)
class Mask:
    label: str
    points: tuple[tuple[float, float], ...]

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "points": [[x, y] for x, y in self.points]}


def parse_masks(raw: object) -> list[Mask]:
    """Check a list of ``{"label", "points": [[x, y], ...]}``; French errors
    name the mask (1-based) and what to change."""
    if not isinstance(raw, list):
        raise InvalidArgument(t("masks.not_a_list"), field="masks")
    if len(raw) > MAX_MASKS:
        raise InvalidArgument(t("masks.too_many", max=MAX_MASKS), field="masks")
    out: list[Mask] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise InvalidArgument(t("masks.bad_mask", n=n), field="masks")
        label = item.get("label", "")
        if not isinstance(label, str) or len(label.strip()) > MAX_LABEL:
            raise InvalidArgument(t("masks.bad_label", n=n, max=MAX_LABEL), field="masks")
        points = item.get("points")
        if not isinstance(points, list) or not 3 <= len(points) <= MAX_POINTS:
            raise InvalidArgument(t("masks.bad_points", n=n, max=MAX_POINTS), field="masks")
        pts: list[tuple[float, float]] = []
        for p in points:
            ok = (
                isinstance(p, list | tuple)
                and len(p) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
                and all(0.0 <= float(v) <= 1.0 for v in p)
            )
            if not ok:
                raise InvalidArgument(t("masks.bad_coordinate", n=n), field="masks")
            pts.append((round(float(p[0]), 5), round(float(p[1]), 5)))
        if _area(pts) < 1e-6:
            raise InvalidArgument(t("masks.flat", n=n), field="masks")
        out.append(Mask(label.strip(), tuple(pts)))
    return out


def masks_from_json(raw: object) -> list[Mask]:
    """Masks as stored (already checked); an empty list for ``None``."""
    return parse_masks(raw or [])


def _area(pts: list[tuple[float, float]]) -> float:
    s = 0.0
    for (x1, y1), (x2, y2) in zip(pts, [*pts[1:], pts[0]], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def raster(masks: list[Mask], width: int, height: int) -> npt.NDArray[np.bool_]:
    """``height`` × ``width`` booleans, True where a pixel's centre lies inside
    a mask (even-odd rule per polygon, union over masks). A mask edge on the
    picture's edge covers the edge pixels."""
    out = np.zeros((height, width), dtype=np.bool_)
    if not masks or width <= 0 or height <= 0:
        return out
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    for mask in masks:
        inside = np.zeros((height, width), dtype=np.bool_)
        pts = mask.points
        for (x1, y1), (x2, y2) in zip(pts, [*pts[1:], pts[0]], strict=True):
            if y1 == y2:
                continue
            # rows whose centre is crossed by this edge (half-open in y)
            rows = (ys >= min(y1, y2)) & (ys < max(y1, y2))
            if not rows.any():
                continue
            x_at = x1 + (ys[rows] - y1) * (x2 - x1) / (y2 - y1)  # crossing per row
            inside[rows] ^= xs[np.newaxis, :] < x_at[:, np.newaxis]
        out |= inside
    return out


@dataclass(frozen=True, slots=True)
class PixelMask:
    """A camera's masks for one picture size: the luma pixels to paint and the
    4:2:0 chroma samples to paint (any of whose four luma pixels is masked);
    computed once per size, applied to every frame."""

    luma: npt.NDArray[np.bool_]
    chroma: npt.NDArray[np.bool_]

    @staticmethod
    def of(masks: list[Mask], width: int, height: int) -> PixelMask:
        luma = raster(masks, width, height)
        h, w = (height + 1) // 2, (width + 1) // 2
        padded = np.pad(luma, ((0, 2 * h - height), (0, 2 * w - width)), mode="edge")
        chroma = np.asarray(padded.reshape(h, 2, w, 2).any(axis=(1, 3)), dtype=np.bool_)
        return PixelMask(luma, chroma)


def paint_yuv420(
    planes: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]],
    mask: PixelMask,
    full_range: bool = False,
) -> None:
    """Paint the masked pixels black in place on 8-bit 4:2:0 planes (Y, U, V)."""
    y, u, v = planes
    np.putmask(y, mask.luma, 0 if full_range else 16)
    np.putmask(u, mask.chroma, 128)
    np.putmask(v, mask.chroma, 128)


def paint_frame(frame: Any, mask: PixelMask) -> None:
    """Paint ``mask`` black in place on a PyAV 8-bit 4:2:0 ``VideoFrame``
    (``yuv420p`` or full-range ``yuvj420p``); its planes are written through."""
    planes = []
    for plane in frame.planes[:3]:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        planes.append(rows[:, : plane.width])
    y, u, v = planes
    paint_yuv420((y, u, v), mask, full_range=frame.format.name == "yuvj420p")
