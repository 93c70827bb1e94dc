"""The 24/7 coverage plan of a commune — pure, no I/O.

A commune is covered at an instant when its own CSU is staffed (weekly
windows of local time) or the metropolitan centre holds a delegation for it
(weekly windows plus one-off spans). Everything else is uncovered time, the
list the plan shows. Built on ``vigie.domain.schedule`` so staffed hours and
delegations follow Europe/Paris daylight-saving time in the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from vigie.domain.schedule import PARIS, Span, WeeklyWindow, gaps, in_windows, intervals

SLOT_MIN = 30
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """One half-hour of a weekly chart; ``who`` is csu, centre, both or none."""

    start: datetime
    who: str


@dataclass(frozen=True)
class Plan:
    staffed: list[WeeklyWindow]
    centre: list[WeeklyWindow]
    centre_spans: list[Span]

    def covered_by(self, at: datetime) -> str:
        csu = in_windows(self.staffed, at)
        centre = in_windows(self.centre, at) or any(s.contains(at) for s in self.centre_spans)
        return "both" if csu and centre else "csu" if csu else "centre" if centre else "none"

    def covered(self, at: datetime) -> bool:
        return self.covered_by(at) != "none"

    def covered_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        return intervals([*self.staffed, *self.centre], self.centre_spans, start, end)

    def uncovered(self, start: datetime, end: datetime) -> list[Interval]:
        return gaps([*self.staffed, *self.centre], self.centre_spans, start, end)

    def covered_throughout(self, start: datetime, end: datetime) -> bool:
        return not self.uncovered(start, end)

    def week_chart(self, monday: date) -> list[Slot]:
        """Half-hour slots (UTC starts) from local Monday 00:00 to the next.

        Slots are real half-hours: 336 in a normal week, 334 in the week the
        clocks go forward, 338 when they go back.
        """
        cursor = _utc(datetime(monday.year, monday.month, monday.day))
        end = _utc(datetime(monday.year, monday.month, monday.day) + timedelta(days=7))
        slots: list[Slot] = []
        while cursor < end:
            slots.append(Slot(cursor, self.covered_by(cursor)))
            cursor += timedelta(minutes=SLOT_MIN)
        return slots


def tonight(now: datetime) -> tuple[datetime, datetime]:
    """This evening 20:00 to tomorrow 08:00, local time, as UTC instants."""
    local = now.astimezone(PARIS)
    start = local.replace(hour=20, minute=0, second=0, microsecond=0, tzinfo=None)
    if local.hour < 8:
        start -= timedelta(days=1)
    end = start + timedelta(hours=12)
    return _utc(start), _utc(end)


def this_weekend(now: datetime) -> tuple[datetime, datetime]:
    """Friday 20:00 to Monday 08:00 local time (the current or next weekend)."""
    local = now.astimezone(PARIS).replace(tzinfo=None)
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    end = monday + timedelta(days=7)
    if local < monday:
        end = monday
    start = end - timedelta(days=2, hours=12)
    return _utc(start), _utc(end)


def _utc(naive_local: datetime) -> datetime:
    return naive_local.replace(tzinfo=PARIS).astimezone(UTC)


def metropolitan_view(plans: dict[str, Plan], now: datetime) -> list[dict[str, object]]:
    """Per commune: covered now, all tonight, all this weekend."""
    night = tonight(now)
    weekend = this_weekend(now)
    return [
        {
            "commune": insee,
            "now": plan.covered_by(now),
            "tonight": plan.covered_throughout(*night),
            "weekend": plan.covered_throughout(*weekend),
        }
        for insee, plan in sorted(plans.items())
    ]


def hours(spans: Sequence[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in spans) / 3600.0
