from __future__ import annotations

import pytest

from vigie.base.errors import InvalidArgument
from vigie.domain.alarms import Condition, Delays, Hysteresis

OFF = Condition("camera", "7", "offline", "critical", "Caméra hors ligne")


def run(h: Hysteresis, pattern: str, step_s: float = 1.0) -> list[tuple[str, float]]:
    """Feed one round per character: 'x' = condition present, '.' = absent."""
    out = []
    for i, ch in enumerate(pattern):
        for tr in h.update(i * step_s, [OFF] if ch == "x" else []):
            out.append((tr.action, tr.at_s))
    return out


def test_raises_after_delay_and_clears_after_delay() -> None:
    h = Hysteresis(Delays(3.0, 5.0))
    assert run(h, "xxxxx......") == [("raise", 3.0), ("clear", 10.0)]


def test_short_blips_never_raise() -> None:
    h = Hysteresis(Delays(3.0, 5.0))
    assert run(h, "xx.xx.xx.xx.x.xx") == []


def test_flapping_camera_is_one_alarm() -> None:
    h = Hysteresis(Delays(3.0, 5.0))
    # down 4 s, up 2 s, repeatedly: raised once, never cleared while it flaps
    assert run(h, "xxxx..xxxx..xxxx..xxxx..") == [("raise", 3.0)]
    assert h.open_keys() == {"camera:7:offline"}


def test_dedup_and_highest_severity() -> None:
    h = Hysteresis(Delays(0.0, 1.0))
    warn = Condition("camera", "7", "offline", "warning", "a")
    out = h.update(0.0, [warn, OFF, warn])
    assert [(t.action, t.condition.severity) for t in out] == [("raise", "critical")]
    assert h.update(1.0, [OFF]) == []


def test_per_kind_delays_and_restore() -> None:
    h = Hysteresis(Delays(3.0, 5.0), {"covered": Delays(10.0, 10.0)})
    cov = Condition("camera", "7", "covered", "warning", "Image masquée")
    assert [t.action for t in h.update(0.0, [cov])] == []
    assert [t.action for t in h.update(9.0, [cov])] == []
    assert [t.action for t in h.update(10.0, [cov])] == ["raise"]
    h2 = Hysteresis()
    h2.restore([cov])
    assert [t.action for t in h2.update(0.0, [])] == []
    assert [t.action for t in h2.update(5.0, [])] == ["clear"]


def test_bad_condition_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        Condition("camera", "7", "offline", "fatal", "x")
