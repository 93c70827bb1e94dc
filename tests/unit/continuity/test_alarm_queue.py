from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound
from vigie.continuity import alarms
from vigie.continuity.models import Alarm, Contact, OutboxMessage
from vigie.domain.alarms import Condition, Delays, Hysteresis, Transition
from vigie.storage.models import AuditEntry, Camera

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


def camera(db: Session) -> Camera:
    cam = Camera(name="Grand-Place", commune_insee="59350", main_url="rtsp://127.0.0.1/a")
    db.add(cam)
    db.add(Contact(commune_insee="59350", email="tech@lille.example"))
    db.flush()
    return cam


def test_raise_is_deduplicated_and_survives_restart(db_session: Session) -> None:
    cam = camera(db_session)
    cond = Condition("camera", str(cam.id), "offline", "critical", "hors ligne")
    alarms.apply(db_session, now=T0, transitions=[Transition("raise", cond, 0)])
    alarms.apply(db_session, now=T0, transitions=[Transition("raise", cond, 0)])
    open_ = alarms.open_alarms(db_session)
    assert [(a.key, a.camera_id, a.commune_insee) for a in open_] == [
        (f"camera:{cam.id}:offline", cam.id, "59350")
    ]
    # a restarted engine resumes the open alarm and clears it, no second raise
    engine = Hysteresis(Delays(1, 2))
    engine.restore(alarms.open_conditions(db_session))
    assert engine.update(0, [cond]) == []
    tr = engine.update(1, []) + engine.update(3, [])
    alarms.apply(db_session, now=T0 + timedelta(seconds=3), transitions=tr)
    assert alarms.open_alarms(db_session) == []
    keys = sorted(db_session.scalars(select(OutboxMessage.idempotency_key)))
    assert len(keys) == 2 and keys[0].endswith(":clear:contact:1:email")


def test_queue_ack_assign_comment_escalate(db_session: Session) -> None:
    cam = camera(db_session)
    cond = Condition("camera", str(cam.id), "covered", "warning", "masquée")
    (alarm,) = alarms.apply(db_session, now=T0, transitions=[Transition("raise", cond, 0)])
    assert alarms.escalate_due(db_session, now=T0 + timedelta(minutes=4), after_s=300) == []
    (esc,) = alarms.escalate_due(db_session, now=T0 + timedelta(minutes=5), after_s=300)
    assert esc.escalation_level == 1
    assert alarms.escalate_due(db_session, now=T0 + timedelta(minutes=6), after_s=300) == []
    alarms.assign(db_session, alarm_id=alarm.id, actor="op1", assignee="tech2", now=T0)
    alarms.comment(db_session, alarm_id=alarm.id, actor="op1", text="Appelé le technicien", now=T0)
    alarms.acknowledge(db_session, alarm_id=alarm.id, actor="op1", now=T0 + timedelta(minutes=7))
    assert alarms.escalate_due(db_session, now=T0 + timedelta(hours=1), after_s=300) == []
    db_session.refresh(alarm)
    assert [n.action for n in alarm.notes] == ["raise", "escalate", "assign", "comment", "ack"]
    assert alarm.assigned_to == "tech2" and alarm.acknowledged_by == "op1"
    actions = set(db_session.scalars(select(AuditEntry.action)))
    assert {"alarm.ack", "alarm.assign", "alarm.comment", "alarm.escalate"} <= actions
    with pytest.raises(InvalidArgument):
        alarms.comment(db_session, alarm_id=alarm.id, actor="op1", text="  ", now=T0)
    with pytest.raises(NotFound):
        alarms.acknowledge(db_session, alarm_id=9999, actor="op1", now=T0)
    assert db_session.scalar(select(Alarm.severity)) == "warning"
