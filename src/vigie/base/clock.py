"""Clocks behind a small protocol so tests can inject simulated time.

Wall-clock instants are always timezone-aware UTC; monotonic seconds are only
used for durations. The two are never mixed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; only differences are meaningful."""
        ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class SimulatedClock:
    """A clock that moves only when told to. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        require_utc(start, "start")
        self._now = start
        self._mono = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds


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
