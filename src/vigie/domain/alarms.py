"""Alarm hysteresis over generic *conditions* — pure, no I/O.

A condition is a problem observed now (camera offline, picture covered,
disk full, recording behind…), named by its source, subject and kind. Any
producer (stream stats, image checks, recording) reports the conditions it
sees at each round; ``Hysteresis.update`` turns that stream into alarm
transitions:

- raised once a condition has been present ``raise_after_s`` without a
  break, cleared once it has been absent ``clear_after_s`` without a break
  (no flapping: a camera that drops every few seconds stays one open alarm);
- deduplicated by key ``source:subject:kind`` — one open alarm per key;
- the highest severity seen while open is kept.
Times are monotonic seconds given by the caller (simulated in tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vigie.base.errors import InvalidArgument
from vigie.base.i18n import t

SEVERITIES = ("info", "warning", "critical")
SOURCES = ("camera", "commune", "process", "node")


@dataclass(frozen=True)
class Condition:
    source: str
    subject: str
    kind: str
    severity: str
    message: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InvalidArgument(
                t("continuity.err.source", value=repr(self.source), allowed=", ".join(SOURCES)),
                field="source",
            )
        if self.severity not in SEVERITIES:
            raise InvalidArgument(
                t(
                    "continuity.err.severity",
                    field="severity",
                    value=repr(self.severity),
                    allowed=", ".join(SEVERITIES),
                ),
                field="severity",
            )

    @property
    def key(self) -> str:
        return f"{self.source}:{self.subject}:{self.kind}"


@dataclass(frozen=True)
class Delays:
    raise_after_s: float
    clear_after_s: float


@dataclass(frozen=True)
class Transition:
    action: str  # "raise" | "clear"
    condition: Condition
    at_s: float


@dataclass
class _Track:
    condition: Condition
    bad_since_s: float | None = None
    good_since_s: float | None = None
    raised: bool = False


@dataclass
class Hysteresis:
    default: Delays = field(default_factory=lambda: Delays(3.0, 5.0))
    per_kind: Mapping[str, Delays] = field(default_factory=dict)
    _tracks: dict[str, _Track] = field(default_factory=dict)

    def delays(self, kind: str) -> Delays:
        return self.per_kind.get(kind, self.default)

    def open_keys(self) -> set[str]:
        return {k for k, tr in self._tracks.items() if tr.raised}

    def restore(self, open_conditions: Iterable[Condition]) -> None:
        """Resume after a restart: these alarms are already open."""
        for cond in open_conditions:
            self._tracks[cond.key] = _Track(cond, raised=True)

    def update(self, now_s: float, present: Iterable[Condition]) -> list[Transition]:
        seen: dict[str, Condition] = {}
        for cond in present:
            old = seen.get(cond.key)
            if old is None or SEVERITIES.index(cond.severity) > SEVERITIES.index(old.severity):
                seen[cond.key] = cond
        out: list[Transition] = []
        for key, cond in seen.items():
            track = self._tracks.setdefault(key, _Track(cond))
            if not track.raised or SEVERITIES.index(cond.severity) > SEVERITIES.index(
                track.condition.severity
            ):
                track.condition = cond
            track.good_since_s = None
            if track.bad_since_s is None:
                track.bad_since_s = now_s
            if (
                not track.raised
                and now_s - track.bad_since_s >= self.delays(cond.kind).raise_after_s
            ):
                track.raised = True
                out.append(Transition("raise", track.condition, now_s))
        for key in [k for k in self._tracks if k not in seen]:
            track = self._tracks[key]
            track.bad_since_s = None
            if not track.raised:
                del self._tracks[key]
                continue
            if track.good_since_s is None:
                track.good_since_s = now_s
            if now_s - track.good_since_s >= self.delays(track.condition.kind).clear_after_s:
                out.append(Transition("clear", track.condition, now_s))
                del self._tracks[key]
        return out
