"""Technical image checks of a camera: covered/black, blurred, moved, frozen.

These look at the camera, never at people: every measure is a global
statistic of a small grey picture (mean, spread, sharpness, correlation with
the camera's own reference picture). Pure numpy, no I/O; the checks process
decodes one keyframe per second per camera at low resolution and feeds
``CameraChecker.observe``.

Measures, on a grey picture scaled to about 160×120:

- covered/black: mean luminance below ``dark_mean`` *and* spread (standard
  deviation after a 4×4 box average, so sensor noise does not count as
  detail) below ``covered_std``. A dark but detailed night scene is not
  covered.
- blurred: variance of the Laplacian of the 2×2-averaged picture over its
  variance (blind to contrast), relative to the same on the reference. Noise raises this figure, so a noisy
  night picture never reads as blurred.
- moved: zero-mean normalised correlation between the gradient magnitudes
  of the 4×4-averaged picture and of the reference. Normalisation makes it
  blind to brightness and contrast (day/night); averaging removes noise.
- frozen: mean absolute difference between consecutive keyframes (full
  small resolution) below ``frozen_diff`` for at least ``frozen_after_s``.
  A live camera's sensor noise alone keeps this difference above the
  threshold; a stalled encoder repeating one picture gives ~0.
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


def box(picture: Grey, k: int) -> Grey:
    """Average ``k×k`` blocks (crops the edges that do not fill a block)."""
    h, w = (picture.shape[0] // k) * k, (picture.shape[1] // k) * k
    out: Grey = picture[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3), dtype=np.float32)
    return out


def sharpness(picture: Grey) -> float:
    """Variance of the Laplacian over the picture's variance (2×2-averaged).

    Dividing by the variance makes the figure blind to contrast, so a dim
    night picture of a sharp scene scores like the day picture.
    """
    p = box(picture, 2)
    lap = -4.0 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    var = float(p.var())
    return float(lap.var()) / var if var > 1e-3 else 0.0


def _edges(picture: Grey) -> Grey:
    p = box(picture, 4)
    gy = np.abs(p[2:, 1:-1] - p[:-2, 1:-1])
    gx = np.abs(p[1:-1, 2:] - p[1:-1, :-2])
    out: Grey = (gx + gy).astype(np.float32)
    return out


def correlation(a: Grey, b: Grey) -> float:
    """Zero-mean normalised correlation in [-1, 1]; 0 when either is flat."""
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / den if den > 1e-6 else 0.0


@dataclass(frozen=True)
class Reference:
    """The camera's reference picture, reduced to what the checks compare."""

    sharpness: float
    edges: Grey

    @classmethod
    def of(cls, picture: Grey) -> Reference:
        return cls(sharpness=sharpness(picture), edges=_edges(picture))


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
        """Check one keyframe taken at monotonic time ``at_s``."""
        th = self.thresholds
        mean = float(picture.mean())
        spread = float(box(picture, 4).std())
        covered = mean < th.dark_mean and spread < th.covered_std
        ratio = corr = None
        if self.reference is not None and not covered:
            if self.reference.sharpness > 1e-3:
                ratio = sharpness(picture) / self.reference.sharpness
            corr = correlation(_edges(picture), self.reference.edges)
        diff = None
        if self._previous is not None and self._previous.shape == picture.shape:
            diff = float(np.abs(picture - self._previous).mean())
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
