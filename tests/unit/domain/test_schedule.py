from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigie.base.errors import InvalidArgument
from vigie.domain.schedule import (
    PARIS,
    Span,
    WeeklyWindow,
    covered,
    gaps,
    in_windows,
    intervals,
)

# Weeknights 20:00–08:00 and whole weekends: the usual delegation to the centre.
NIGHTS = [WeeklyWindow.of(d, "20:00", "08:00") for d in range(5)] + [
    WeeklyWindow.of(5, "00:00", "24:00"),
    WeeklyWindow.of(6, "00:00", "24:00"),
]


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_window_edges_are_local_wall_clock() -> None:
    # Tuesday 2026-11-24, winter time (UTC+1).
    assert not in_windows(NIGHTS, paris(2026, 11, 24, 19, 59))
    assert in_windows(NIGHTS, paris(2026, 11, 24, 20, 0))
    assert in_windows(NIGHTS, paris(2026, 11, 25, 7, 59))
    assert not in_windows(NIGHTS, paris(2026, 11, 25, 8, 0))
    # Friday night runs into the Saturday window.
    assert in_windows(NIGHTS, paris(2026, 11, 28, 12, 0))
    # Sunday 24:00 ends; Monday morning is outside (no Sunday-night window).
    assert not in_windows(NIGHTS, paris(2026, 11, 30, 7, 0))


def test_spring_forward_night_is_one_hour_shorter() -> None:
    # Sunday 2026-03-29 02:00 → 03:00. Saturday-to-Sunday coverage: window
    # Saturday 22:00 – Sunday 06:00 lasts 7 real hours instead of 8.
    w = [WeeklyWindow.of(5, "22:00", "06:00")]
    start, end = paris(2026, 3, 28, 12, 0), paris(2026, 3, 29, 12, 0)
    (span,) = intervals(w, [], start, end)
    assert span[1] - span[0] == timedelta(hours=7)
    assert span[0] == datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
    assert span[1] == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_fall_back_night_is_one_hour_longer() -> None:
    w = [WeeklyWindow.of(5, "22:00", "06:00")]
    start, end = paris(2026, 10, 24, 12, 0), paris(2026, 10, 25, 12, 0)
    (span,) = intervals(w, [], start, end)
    assert span[1] - span[0] == timedelta(hours=9)


def test_edge_at_a_wall_time_that_does_not_exist() -> None:
    w = [WeeklyWindow.of(6, "01:00", "02:30")]  # Sunday of spring-forward
    (span,) = intervals(w, [], paris(2026, 3, 29, 0, 0), paris(2026, 3, 29, 6, 0))
    assert span == (
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    )


def test_repeated_hour_counts_twice() -> None:
    w = [WeeklyWindow.of(6, "02:30", "03:30")]  # Sunday of fall-back
    got = intervals(w, [], paris(2026, 10, 25, 0, 0), paris(2026, 10, 25, 6, 0))
    total = sum((b - a for a, b in got), timedelta())
    assert total == timedelta(hours=1, minutes=30)


def test_one_off_span_and_gaps() -> None:
    handover = Span(
        datetime(2026, 11, 24, 14, 0, tzinfo=UTC), datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    )
    start, end = paris(2026, 11, 24, 8, 0), paris(2026, 11, 24, 20, 0)
    assert covered([], [handover], datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    assert intervals(NIGHTS, [handover], start, end) == [(handover.start, handover.end)]
    assert gaps(NIGHTS, [handover], start, end) == [
        (start.astimezone(UTC), handover.start),
        (handover.end, end.astimezone(UTC)),
    ]


@pytest.mark.parametrize(
    ("start", "end"), [("25:00", "08:00"), ("20:00", "8h"), ("24:00", "08:00"), ("20:60", "08:00")]
)
def test_bad_times_are_refused(start: str, end: str) -> None:
    with pytest.raises(InvalidArgument):
        WeeklyWindow.of(0, start, end)


def test_naive_span_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        Span(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))


windows_st = st.lists(
    st.builds(
        WeeklyWindow,
        st.integers(0, 6),
        st.integers(0, 24 * 60 - 1),
        st.integers(0, 24 * 60),
    ),
    max_size=4,
)
# Instants around both 2026 DST changes and an ordinary week, to the minute.
around = st.sampled_from(
    [
        datetime(2026, 3, 27, tzinfo=UTC),
        datetime(2026, 10, 23, tzinfo=UTC),
        datetime(2026, 6, 10, tzinfo=UTC),
    ]
)


@settings(max_examples=150, deadline=None)
@given(windows_st, around, st.integers(0, 4 * 24 * 60), st.integers(0, 4 * 24 * 60))
def test_intervals_agree_with_membership(
    windows: list[WeeklyWindow], base: datetime, a_min: int, probe_min: int
) -> None:
    start = base + timedelta(minutes=a_min % 60)
    end = base + timedelta(days=4)
    got = intervals(windows, [], start, end)
    for (_a1, b1), (a2, _) in itertools.pairwise(got):
        assert b1 < a2  # merged and ordered
    probe = base + timedelta(minutes=probe_min, seconds=30)
    if start <= probe < end:
        inside = any(a <= probe < b for a, b in got)
        assert inside == in_windows(windows, probe)


def test_french_labels() -> None:
    assert WeeklyWindow.of(0, "20:00", "08:00").label_fr() == "lundi 20:00–08:00 (lendemain)"
    assert WeeklyWindow.of(5, "00:00", "24:00").label_fr() == "samedi 00:00–24:00"
    assert WeeklyWindow.of(6, "07:00", "07:00").label_fr() == "dimanche 07:00 (24 h)"
