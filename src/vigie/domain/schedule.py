"""Weekly time windows in Europe/Paris wall-clock time, and one-off spans.

Delegation windows (the centre watches a commune's cameras on weeknights
20:00–08:00 and at weekends) and staffed hours of a commune's own CSU are
both written as weekly windows of local time; the law's clock is the
commune's, so they follow daylight-saving changes.

Definition (the one every other function agrees with): an instant is inside
a window when its Europe/Paris wall-clock time falls in it. A window starts
on ``weekday`` (0 = Monday) at ``start_min`` minutes after local midnight and
ends ``end_min`` minutes after midnight — the same day when ``end_min >
start_min``, the next day otherwise (``20:00–08:00``). ``start == end``
means 24 hours. Consequences at DST changes: on the spring-forward night a
window ``20:00–08:00`` lasts 11 real hours; on the fall-back night the
repeated hour 02:00–03:00 counts twice; a window edge at a wall time that
does not exist (02:30 in March) takes effect at 03:00.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from vigie.base.errors import InvalidArgument

PARIS = ZoneInfo("Europe/Paris")
MINUTES_PER_DAY = 24 * 60
WEEKDAY_NAMES_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def parse_hhmm(text: str, field: str) -> int:
    """``"20:00"`` → 1200 minutes; ``"24:00"`` is allowed as an end of day."""
    try:
        hh, mm = text.strip().split(":")
        hours, minutes = int(hh), int(mm)
    except ValueError as exc:
        raise InvalidArgument(
            f"{field}: {text!r} n'est pas une heure HH:MM (ex. 20:00).", field=field
        ) from exc
    if not (0 <= minutes < 60) or not (0 <= hours <= 24) or (hours == 24 and minutes):
        raise InvalidArgument(
            f"{field}: {text!r} n'est pas une heure valide (00:00–24:00).", field=field
        )
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class WeeklyWindow:
    weekday: int
    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise InvalidArgument(
                f"weekday: {self.weekday} — jour de 0 (lundi) à 6 (dimanche).", field="weekday"
            )
        if not 0 <= self.start_min < MINUTES_PER_DAY:
            raise InvalidArgument(
                f"start: {self.start_min} minutes hors de 00:00–23:59.", field="start"
            )
        if not 0 <= self.end_min <= MINUTES_PER_DAY:
            raise InvalidArgument(f"end: {self.end_min} minutes hors de 00:00–24:00.", field="end")

    @classmethod
    def of(cls, weekday: int, start: str, end: str) -> WeeklyWindow:
        start_min = parse_hhmm(start, "start")
        if start_min == MINUTES_PER_DAY:
            raise InvalidArgument(
                "start: 24:00 n'est pas une heure de début ; utilisez 00:00.", field="start"
            )
        return cls(weekday, start_min, parse_hhmm(end, "end"))

    @classmethod
    def from_json(cls, data: dict[str, object]) -> WeeklyWindow:
        weekday = data.get("weekday")
        if not isinstance(weekday, int):
            raise InvalidArgument(
                "weekday: entier attendu de 0 (lundi) à 6 (dimanche).", field="weekday"
            )
        return cls.of(weekday, str(data.get("start", "")), str(data.get("end", "")))

    def to_json(self) -> dict[str, object]:
        return {
            "weekday": self.weekday,
            "start": format_hhmm(self.start_min),
            "end": format_hhmm(self.end_min),
        }

    @property
    def overnight(self) -> bool:
        return self.end_min <= self.start_min

    def label_fr(self) -> str:
        if self.start_min == self.end_min:
            return f"{WEEKDAY_NAMES_FR[self.weekday]} {format_hhmm(self.start_min)} (24 h)"
        end_day = " (lendemain)" if self.overnight else ""
        return (
            f"{WEEKDAY_NAMES_FR[self.weekday]} {format_hhmm(self.start_min)}–"
            f"{format_hhmm(self.end_min)}{end_day}"
        )

    def contains_local(self, weekday: int, minute_of_day: int) -> bool:
        """Whether local wall-clock (weekday, minute) lies in this window."""
        if not self.overnight:
            return weekday == self.weekday and self.start_min <= minute_of_day < self.end_min
        if weekday == self.weekday and minute_of_day >= self.start_min:
            return True
        return weekday == (self.weekday + 1) % 7 and minute_of_day < self.end_min


@dataclass(frozen=True)
class Span:
    """A one-off UTC span [start, end) — e.g. an exceptional handover."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None:
                raise InvalidArgument(
                    f"{name}: instant sans fuseau horaire ; donnez-le en UTC (Z) ou avec un décalage.",
                    field=name,
                )
        if self.end <= self.start:
            raise InvalidArgument("end: la fin doit être après le début.", field="end")

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _local(instant: datetime) -> tuple[int, int]:
    if instant.tzinfo is None:
        raise InvalidArgument("instant sans fuseau horaire.", field="at")
    local = instant.astimezone(PARIS)
    return local.weekday(), local.hour * 60 + local.minute


def in_windows(windows: Iterable[WeeklyWindow], instant: datetime) -> bool:
    """Whether ``instant`` (aware) falls in any of the weekly windows."""
    weekday, minute = _local(instant)
    return any(w.contains_local(weekday, minute) for w in windows)


def covered(windows: Iterable[WeeklyWindow], spans: Iterable[Span], instant: datetime) -> bool:
    """Weekly windows or one-off spans: the rule of a delegation or a staffing plan."""
    return in_windows(windows, instant) or any(s.contains(instant) for s in spans)


def _edges_utc(windows: Sequence[WeeklyWindow], start: datetime, end: datetime) -> list[datetime]:
    """Every instant in [start, end] where membership may change: window edges
    of each local day (both folds) and the time-zone transitions."""
    minutes = {w.start_min for w in windows} | {w.end_min % MINUTES_PER_DAY for w in windows}
    edges = {start, end}
    day = start.astimezone(PARIS).date() - timedelta(days=1)
    last_day = end.astimezone(PARIS).date() + timedelta(days=1)
    while day <= last_day:
        for m in minutes:
            naive = datetime(day.year, day.month, day.day) + timedelta(minutes=m)
            for fold in (0, 1):
                local = naive.replace(tzinfo=PARIS, fold=fold)
                utc = local.astimezone(UTC)
                # A wall time that does not exist maps to where the clock jumps.
                if utc.astimezone(PARIS).replace(tzinfo=None) != naive:
                    utc = _next_transition(utc)
                if start < utc < end:
                    edges.add(utc)
        midnight = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
        next_day = day + timedelta(days=1)
        next_midnight = datetime(
            next_day.year, next_day.month, next_day.day, tzinfo=PARIS
        ).astimezone(UTC)
        if midnight.astimezone(PARIS).utcoffset() != next_midnight.astimezone(PARIS).utcoffset():
            transition = _next_transition(midnight)
            while (
                transition.astimezone(PARIS).utcoffset() == midnight.astimezone(PARIS).utcoffset()
            ):
                transition = _next_transition(transition)
            if start < transition < end:
                edges.add(transition)
        day = next_day
    return sorted(edges)


def _next_transition(after: datetime) -> datetime:
    """The first quarter-hour instant after ``after`` whose UTC offset differs
    (searched over the next 24 hours; ``after`` itself when there is none)."""
    offset = after.astimezone(PARIS).utcoffset()
    probe = after.replace(second=0, microsecond=0) - timedelta(minutes=after.minute % 15)
    for _ in range(24 * 4):
        probe += timedelta(minutes=15)
        if probe.astimezone(PARIS).utcoffset() != offset:
            return probe
    return after


def intervals(
    windows: Sequence[WeeklyWindow], spans: Sequence[Span], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Merged UTC intervals within [start, end) where ``covered`` is true."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidArgument("start/end: instants sans fuseau horaire.", field="start")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    edges = set(_edges_utc(windows, start, end))
    for s in spans:
        for e in (s.start.astimezone(UTC), s.end.astimezone(UTC)):
            if start < e < end:
                edges.add(e)
    ordered = sorted(edges)
    out: list[tuple[datetime, datetime]] = []
    for a, b in itertools.pairwise(ordered):
        if covered(windows, spans, a):
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def gaps(
    windows: Sequence[WeeklyWindow], spans: Sequence[Span], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The complement of ``intervals`` within [start, end)."""
    out: list[tuple[datetime, datetime]] = []
    cursor = start.astimezone(UTC)
    for a, b in intervals(windows, spans, start, end):
        if a > cursor:
            out.append((cursor, a))
        cursor = b
    if cursor < end.astimezone(UTC):
        out.append((cursor, end.astimezone(UTC)))
    return out


Interval = tuple[datetime, datetime]


def merge(parts: Iterable[Interval]) -> list[Interval]:
    """Half-open intervals sorted and merged where they touch or overlap."""
    out: list[Interval] = []
    for a, b in sorted(p for p in parts if p[0] < p[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def intersect(parts: Iterable[Interval], within: Sequence[Interval]) -> list[Interval]:
    """The parts of ``parts`` inside ``within`` (both half-open), merged."""
    return merge(
        (max(a, c), min(b, d)) for a, b in parts for c, d in within if max(a, c) < min(b, d)
    )


def covers(parts: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """Whether the union of ``parts`` contains all of [start, end)."""
    return intersect([(start, end)], merge(parts)) == [(start, end)] if start < end else True
