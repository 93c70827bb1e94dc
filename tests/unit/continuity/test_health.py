from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.continuity.health import (
    availability,
    camera_conditions,
    commune_availability,
    node_conditions,
    purge_samples,
    record_samples,
)
from vigie.continuity.models import HealthSample

ONLINE = {"state": "online", "width": 1920, "height": 1080, "fps": 25.0, "last_packet_age_s": 0.1}


def kinds(stats: dict[str, object] | None, **kw: bool) -> list[str]:
    return [c.kind for c in camera_conditions(7, "Beffroi", stats, **kw)]


def test_stream_states() -> None:
    assert kinds(ONLINE) == []
    assert kinds(None) == []
    assert kinds({"state": "starting"}) == []
    assert kinds({"state": "connecting", "error_code": None}) == []
    off = camera_conditions(
        7,
        "Beffroi",
        {
            "state": "connecting",
            "error_code": "refused",
            "message": "La caméra refuse la connexion",
        },
    )
    assert [(c.kind, c.severity) for c in off] == [("offline", "critical")]
    assert "Beffroi" in off[0].message and "refuse" in off[0].message
    assert kinds({**ONLINE, "state": "stalled", "last_packet_age_s": 7}) == ["offline"]


def test_legal_minimums_rule_9() -> None:
    cif = {**ONLINE, "width": 352, "height": 288, "fps": 6.0}
    assert kinds(cif) == []
    assert kinds(cif, close_up=True) == ["resolution"]
    assert kinds({**ONLINE, "fps": 5.0}) == ["fps"]
    assert kinds({**ONLINE, "fps": 10.0}, fast_moving=True) == ["fps"]
    assert kinds({**ONLINE, "width": 320, "height": 240}) == ["resolution"]
    msg = camera_conditions(1, "Gare", {**ONLINE, "width": 320, "height": 240})[0].message
    assert "352×288" in msg and "3 août 2007" in msg


def test_recording_and_clock() -> None:
    rec = {
        **ONLINE,
        "clock_drift_s": 5.0,
        "recording": {"state": "error", "last_error": "disque plein", "lag_s": 45},
    }
    assert sorted(kinds(rec)) == ["clock_drift", "recording", "recording_lag"]
    assert [c.kind for c in node_conditions("media-0", None, "refused")] == ["down"]
    assert [c.kind for c in node_conditions("local", {"disk_free_bytes": 10**9}, None)] == [
        "disk_low"
    ]


def test_samples_availability_and_purge(db_session: Session) -> None:
    t0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    for i in range(120):  # one hour of 30 s samples: camera 1 down for the last 15 min
        at = t0 + timedelta(seconds=30 * (i + 1))
        record_samples(
            db_session,
            at=at,
            interval_s=30.0,
            cameras={
                1: ONLINE if i < 90 else {"state": "offline"},
                2: {**ONLINE, "recording": {"state": "recording", "lag_s": 1}},
            },
            nodes={"media-0": {"cpu_s": 1.0}},
        )
    db_session.flush()
    per = availability(db_session, camera_ids=[1, 2], start=t0, end=t0 + timedelta(hours=1))
    assert per[1].live_pct == 75.0 and per[1].recording_pct is None
    assert per[2].live_pct == 100.0 and per[2].recording_pct == 100.0
    assert commune_availability(per) == 87.5
    # two hours: the unsampled hour counts as unavailable
    per = availability(db_session, camera_ids=[2], start=t0, end=t0 + timedelta(hours=2))
    assert per[2].live_pct == 50.0
    assert purge_samples(db_session, now=t0 + timedelta(days=30, minutes=30)) == 59 * 3
    left = db_session.scalar(select(func.count()).select_from(HealthSample))
    assert left == 61 * 3
