from __future__ import annotations

from datetime import UTC, date, datetime

from vigie.domain.coverage import Plan, hours, metropolitan_view, this_weekend, tonight
from vigie.domain.schedule import Span, WeeklyWindow

# CSU staffed 08:00–20:00 on weekdays; the centre watches weeknights 20:00–08:00.
STAFFED = [WeeklyWindow.of(d, "08:00", "20:00") for d in range(5)]
NIGHTS = [WeeklyWindow.of(d, "20:00", "08:00") for d in range(4)]


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_who_covers_across_midnight() -> None:
    plan = Plan(STAFFED, NIGHTS, [])
    # Tuesday 2026-11-24: 23:30 and 01:30 Paris (UTC+1) are the centre's
    assert plan.covered_by(utc(2026, 11, 24, 22, 30)) == "centre"
    assert plan.covered_by(utc(2026, 11, 25, 0, 30)) == "centre"
    assert plan.covered_by(utc(2026, 11, 25, 9, 0)) == "csu"
    # Friday night to Monday morning is nobody's
    assert plan.covered_by(utc(2026, 11, 27, 21, 0)) == "none"
    gaps = plan.uncovered(utc(2026, 11, 23, 0, 0), utc(2026, 11, 30, 0, 0))
    # Mon 00:00–08:00 (no Sunday-night window) and Fri 20:00 → Mon 00:00
    assert hours(gaps) == 8 + 52


def test_weekly_chart_across_dst() -> None:
    plan = Plan(STAFFED, NIGHTS, [])
    normal = plan.week_chart(date(2026, 11, 23))
    spring = plan.week_chart(date(2026, 3, 23))  # clocks forward Sun 29 March
    autumn = plan.week_chart(date(2026, 10, 19))  # clocks back Sun 25 October
    assert (len(normal), len(spring), len(autumn)) == (336, 334, 338)
    assert sum(s.who == "none" for s in normal) == 60 * 2


def test_night_across_spring_forward_is_eleven_hours() -> None:
    # Saturday 28 → Sunday 29 March 2026 night window 20:00–08:00 lasts 11 h
    plan = Plan([], [WeeklyWindow.of(5, "20:00", "08:00")], [])
    cov = plan.covered_intervals(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0))
    assert hours(cov) == 11
    cov = plan.covered_intervals(utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0))
    assert hours(cov) == 13


def test_one_off_span_and_metropolitan_view() -> None:
    friday_night = Span(utc(2026, 11, 27, 19, 0), utc(2026, 11, 30, 7, 0))
    plans = {
        "59350": Plan(STAFFED, NIGHTS, [friday_night]),
        "59512": Plan(STAFFED, [], []),
    }
    now = utc(2026, 11, 26, 21, 0)  # Thursday 22:00 Paris
    view = metropolitan_view(plans, now)
    assert view == [
        {"commune": "59350", "now": "centre", "tonight": True, "weekend": True},
        {"commune": "59512", "now": "none", "tonight": False, "weekend": False},
    ]


def test_tonight_and_weekend_bounds() -> None:
    assert tonight(utc(2026, 11, 26, 3, 0)) == (utc(2026, 11, 25, 19, 0), utc(2026, 11, 26, 7, 0))
    assert this_weekend(utc(2026, 11, 26, 12, 0)) == (
        utc(2026, 11, 27, 19, 0),
        utc(2026, 11, 30, 7, 0),
    )
