"""Technical image checks of a camera: covered/black, blurred, moved, frozen.

These look at the camera, never at people: every measure is a global
statistic of a small grey picture (mean, spread, sharpness, correlation with
the camera's own reference picture). Pure numpy, no I/O; the checks process
decodes one keyframe per second per camera at low resolution and feeds
``CameraChecker.observe``.

Measures, on a grey picture of about 80×60 (the decoder's luma averaged
over integer blocks, ``vigie.media.keyframes``: 106×60 for a 640×360 or a
1920×1080 stream, 88×72 for CIF):

- covered/black: mean luminance below ``dark_mean`` *and* spread (standard
  deviation after a further 2×2 average, so sensor noise does not count as
  detail) below ``covered_std``. A dark but detailed night scene is not
  covered.
- blurred: variance of the Laplacian of the picture over its variance
  (blind to contrast), relative to the same on the reference. Noise raises
  this figure, so a noisy night picture never reads as blurred.
- moved: zero-mean normalised correlation between the gradient magnitudes
  of the 2×2-averaged picture and of the reference. Normalisation makes it
  blind to brightness and contrast (day/night); averaging removes noise.
- frozen: mean absolute difference between consecutive keyframes below
  ``frozen_diff`` for at least ``frozen_after_s``. A live camera's sensor
  noise alone keeps this difference above the threshold; a stalled encoder
  repeating one picture gives ~0 (its re-encoded keyframes differ by less
  than 0.4 on the test set's noisy night scene, where a live dark camera
  stays above 0.9).

These are the measures of the earlier 160×120 picture at the same scales
(the Laplacian was taken after a 2×2 average, spread and edges after 4×4):
working at 80×60 from the start drops one averaging step per keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t

Grey = npt.NDArray[np.float32]
CHECK_KINDS = ("covered", "blurred", "moved", "frozen")


@dataclass(frozen=True)
class Thresholds:
    """Per-camera thresholds; the defaults suit the usual street camera."""

    dark_mean: float = 40.0
    covered_std: float = 8.0
    blur_ratio: float = 0.35
    moved_corr: float = 0.45
    frozen_diff: float = 0.35
    frozen_after_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("dark_mean", "covered_std", "frozen_diff", "frozen_after_s"):
            if getattr(self, name) < 0:
                raise InvalidArgument(
                    t("continuity.err.threshold_negative", field=name), field=name
                )
        for name in ("blur_ratio", "moved_corr"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise InvalidArgument(t("continuity.err.threshold_ratio", field=name), field=name)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Thresholds:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidArgument(
                t(
                    "continuity.err.threshold_unknown",
                    names=", ".join(sorted(unknown)),
                    allowed=", ".join(cls.__dataclass_fields__),
                ),
                field=sorted(unknown)[0],
            )
        return cls(**{k: float(v) for k, v in data.items()})  # type: ignore[arg-type]


# Each numpy call costs a few microseconds whatever its size at these
# resolutions, so the measures below are written with as few calls as
# possible: np.var/np.std/np.mean are Python wrappers of several calls
# each; a dot product is one.


def half(picture: Grey) -> Grey:
    """Average 2×2 blocks (crops an odd last row or column).

    Rows first (contiguous), then columns: three calls, where a multi-axis
    ``mean`` over a reshaped array costs ten times more.
    """
    h, w = picture.shape[0] & ~1, picture.shape[1] & ~1
    rows = picture[0:h:2, :w] + picture[1:h:2, :w]
    out: Grey = rows[:, 0::2] + rows[:, 1::2]
    out *= np.float32(0.25)
    return out


def box(picture: Grey, k: int) -> Grey:
    """Average ``k×k`` blocks, ``k`` a power of two (crops what does not fill a block)."""
    if k < 1 or k & (k - 1):
        raise ValueError(f"block size {k} is not a power of two")
    while k > 1:
        picture, k = half(picture), k // 2
    return picture


def _centred(p: Grey) -> tuple[npt.NDArray[np.float32], float]:
    """(the values minus their mean, flattened; their sum of squares)."""
    flat = p.ravel()
    d: npt.NDArray[np.float32] = flat - np.float32(np.add.reduce(flat) / flat.size)
    return d, float(np.dot(d, d))


def _variance(p: Grey) -> float:
    return _centred(p)[1] / p.size


def sharpness(p: Grey) -> float:
    """Variance of the Laplacian over the picture's variance.

    Dividing by the variance makes the figure blind to contrast, so a dim
    night picture of a sharp scene scores like the day picture.
    """
    lap = p[:-2, 1:-1] + p[2:, 1:-1]
    lap += p[1:-1, :-2]
    lap += p[1:-1, 2:]
    lap -= np.float32(4.0) * p[1:-1, 1:-1]
    var = _variance(p)
    return _variance(lap) / var if var > 1e-3 else 0.0


def _edges_of_half(p: Grey) -> Grey:
    gy = p[2:, 1:-1] - p[:-2, 1:-1]
    np.abs(gy, out=gy)
    gx = p[1:-1, 2:] - p[1:-1, :-2]
    np.abs(gx, out=gx)
    gx += gy
    return gx


def _edges(picture: Grey) -> Grey:
    return _edges_of_half(half(picture))


def correlation(a: Grey, b: Grey) -> float:
    """Zero-mean normalised correlation in [-1, 1]; 0 when either is flat."""
    da, saa = _centred(a)
    db, sbb = _centred(b)
    den = float(np.sqrt(saa * sbb))
    return float(np.dot(da, db)) / den if den > 1e-6 else 0.0


@dataclass(frozen=True)
class Reference:
    """The camera's reference picture, reduced to what the checks compare."""

    sharpness: float
    edges: Grey
    shape: tuple[int, int]
    # The edges minus their mean, flattened, and their sum of squares:
    # computed once instead of at every keyframe.
    _edges_centred: npt.NDArray[np.float32] = field(repr=False, compare=False)
    _edges_ss: float = field(repr=False, compare=False)

    @classmethod
    def of(cls, picture: Grey) -> Reference:
        picture = np.asarray(picture, dtype=np.float32)
        h, w = picture.shape
        edges = _edges(picture)
        centred, ss = _centred(edges)
        return cls(sharpness(picture), edges, (h, w), centred, ss)

    def correlation(self, edges: Grey) -> float:
        """``correlation(edges, self.edges)`` with the reference half precomputed."""
        if edges.shape != self.edges.shape:
            return 0.0
        d, ss = _centred(edges)
        den = float(np.sqrt(ss * self._edges_ss))
        return float(np.dot(d, self._edges_centred)) / den if den > 1e-6 else 0.0


@dataclass(frozen=True)
class Measures:
    mean: float
    spread: float
    sharpness_ratio: float | None
    scene_corr: float | None
    diff_prev: float | None


@dataclass(frozen=True)
class Verdict:
    measures: Measures
    findings: frozenset[str]


@dataclass
class CameraChecker:
    """State for one camera: its reference, thresholds and frozen timer."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    reference: Reference | None = None
    _previous: Grey | None = None
    _still_since_s: float | None = None

    def set_reference(self, picture: Grey) -> None:
        self.reference = Reference.of(picture)

    def observe(self, picture: Grey, at_s: float) -> Verdict:
        """Check one keyframe taken at monotonic time ``at_s``.

        A reference taken at another picture size (the stream's resolution
        changed) cannot be compared: blurred and moved are then not judged
        until a new reference is set (the checks process does so at once).
        """
        th = self.thresholds
        picture = np.asarray(picture, dtype=np.float32)
        p2 = half(picture)  # 2×2-averaged: spread and edges, sensor noise averaged out
        mean = float(np.add.reduce(picture, axis=None)) / picture.size
        spread = float(np.sqrt(_variance(p2)))
        covered = mean < th.dark_mean and spread < th.covered_std
        ratio = corr = None
        ref = self.reference
        if ref is not None and not covered and ref.shape == picture.shape:
            if ref.sharpness > 1e-3:
                ratio = sharpness(picture) / ref.sharpness
            corr = ref.correlation(_edges_of_half(p2))
        diff = None
        if self._previous is not None and self._previous.shape == picture.shape:
            delta = picture - self._previous
            np.abs(delta, out=delta)
            diff = float(np.add.reduce(delta, axis=None)) / delta.size
        self._previous = picture
        if diff is not None and diff < th.frozen_diff:
            if self._still_since_s is None:
                self._still_since_s = at_s
        else:
            self._still_since_s = None
        findings: set[str] = set()
        if covered:
            findings.add("covered")
        if ratio is not None and ratio < th.blur_ratio:
            findings.add("blurred")
        if corr is not None and corr < th.moved_corr:
            findings.add("moved")
        if self._still_since_s is not None and at_s - self._still_since_s >= th.frozen_after_s:
            findings.add("frozen")
        return Verdict(Measures(mean, spread, ratio, corr, diff), frozenset(findings))
