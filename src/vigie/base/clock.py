"""Clocks behind a small protocol so tests can inject simulated time.

Every reading of time in Vigie goes through a :class:`Clock` handed down from
the application or the process entry point (``make test`` fails on a direct
call to ``datetime.now``, ``date.today``, ``time.time``, ``time.monotonic`` or
``time.sleep`` anywhere else in ``src/vigie``).

Wall-clock instants are always timezone-aware UTC; monotonic seconds are only
used for durations. The two are never mixed. Calendar days people read (a
deadline, "today" on an invoice) are Europe/Paris days: :func:`paris_today`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; only differences are meaningful."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of this clock's time."""
        ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimulatedClock:
    """A clock that moves only when told to (``advance``, or ``sleep``, which
    returns at once having moved the clock). Thread-safe."""

    def __init__(self, start: datetime) -> None:
        require_utc(start, "start")
        self._now = start.astimezone(UTC)
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds

    def set(self, instant: datetime) -> None:
        """Put the wall clock at ``instant``, forwards or back (as a system clock
        set by NTP may be); monotonic time only ever moves forwards."""
        instant = require_utc(instant, "instant")
        with self._lock:
            delta = (instant - self._now).total_seconds()
            self._now = instant
            self._mono += max(delta, 0.0)


def paris_today(clock: Clock) -> date:
    """Today's calendar day in Europe/Paris, by ``clock``."""
    return clock.now().astimezone(PARIS).date()


def epoch_seconds(clock: Clock) -> float:
    """Seconds since the Unix epoch by ``clock`` (for tokens and TOTP)."""
    return clock.now().timestamp()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(instant: datetime) -> int:
    """Whole milliseconds since the Unix epoch, exactly (no float rounding)."""
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def require_utc(value: datetime, name: str) -> datetime:
    """Refuse naive datetimes at a boundary; normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        from vigie.base.errors import InvalidArgument

        raise InvalidArgument(
            f"{name}: an instant without a time zone is ambiguous; "
            "give it in UTC (suffix Z) or with an explicit offset.",
            field=name,
        )
    return value.astimezone(UTC)
