"""Alarms in the database: raise/clear from the hysteresis engine, the
operators' queue (acknowledge, assign, comment, escalate) and the
notifications each event puts in the outbox.

Service functions take keyword-only ``db`` and work in the caller's
transaction; every operator action is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.continuity.models import Alarm, AlarmNote, Contact
from vigie.continuity.notify import enqueue
from vigie.domain.alarms import SEVERITIES, Condition, Transition
from vigie.domain.schedule import PARIS
from vigie.storage import audit
from vigie.storage.models import Camera

SYSTEM = "vigie"


LINK_LEAD_S = 30  # alarms are raised after hysteresis: start the replay before


def camera_link(camera_id: int, at: datetime) -> str:
    """The playback page on that camera, LINK_LEAD_S before the instant (the
    operator still gives a reason: every viewing is logged)."""
    start = at - timedelta(seconds=LINK_LEAD_S)
    return f"/playback?camera={camera_id}&at={quote(start.isoformat())}"


@dataclass(frozen=True)
class Subject:
    camera_id: int | None
    commune_insee: str | None


def _subject(db: Session, cond: Condition) -> Subject:
    if cond.source == "camera" and cond.subject.isdigit():
        cam = db.get(Camera, int(cond.subject))
        return Subject(int(cond.subject), cam.commune_insee if cam is not None else None)
    if cond.source == "commune":
        return Subject(None, cond.subject)
    return Subject(None, None)


def open_alarms(db: Session) -> list[Alarm]:
    return list(db.scalars(select(Alarm).where(Alarm.is_open.is_(True)).order_by(Alarm.id)))


def open_conditions(db: Session) -> list[Condition]:
    """What the engine restores after a restart."""
    return [Condition(a.source, a.subject, a.kind, a.severity, a.message) for a in open_alarms(db)]


def apply(db: Session, *, now: datetime, transitions: Iterable[Transition]) -> list[Alarm]:
    """Persist raise/clear transitions; queue the notifications."""
    touched: list[Alarm] = []
    for tr in transitions:
        cond = tr.condition
        if tr.action == "raise":
            existing = db.scalar(
                select(Alarm).where(Alarm.key == cond.key, Alarm.is_open.is_(True))
            )
            if existing is not None:  # deduplicated: already open (e.g. after restart)
                continue
            subject = _subject(db, cond)
            alarm = Alarm(
                key=cond.key,
                source=cond.source,
                subject=cond.subject,
                kind=cond.kind,
                severity=cond.severity,
                message=cond.message,
                camera_id=subject.camera_id,
                commune_insee=subject.commune_insee,
                raised_at=now,
                is_open=True,
                escalation_level=0,
            )
            db.add(alarm)
            db.flush()
            db.add(
                AlarmNote(
                    alarm_id=alarm.id, at=now, actor=SYSTEM, action="raise", text=cond.message
                )
            )
            _notify(db, alarm, "raise", now)
            touched.append(alarm)
        else:
            found = db.scalar(select(Alarm).where(Alarm.key == cond.key, Alarm.is_open.is_(True)))
            if found is None:
                continue
            found.is_open = False
            found.cleared_at = now
            db.add(AlarmNote(alarm_id=found.id, at=now, actor=SYSTEM, action="clear", text=""))
            _notify(db, found, "clear", now)
            touched.append(found)
    db.flush()
    return touched


def _notify(db: Session, alarm: Alarm, action: str, at: datetime) -> None:
    """One outbox message per recipient channel: the commune's technical
    contacts and the centre's (``commune_insee`` NULL)."""
    contacts = db.scalars(
        select(Contact).where(
            (Contact.commune_insee.is_(None)) | (Contact.commune_insee == alarm.commune_insee)
        )
    )
    link = camera_link(alarm.camera_id, alarm.raised_at) if alarm.camera_id else ""
    severity = t(f"continuity.severity.{alarm.severity}")
    kind = "clear" if action == "clear" else "raise"
    subject = t(f"continuity.alarm.subject.{kind}", severity=severity, message=alarm.message)
    text = t(
        "continuity.alarm.body",
        action=t("continuity.alarm.cleared" if action == "clear" else "continuity.alarm.raised"),
        at=at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M:%S"),
        message=alarm.message,
        link=link or "—",
        alarm_id=alarm.id,
    )
    payload = {
        "event": f"alarm.{action}",
        "alarm_id": alarm.id,
        "key": alarm.key,
        "kind": alarm.kind,
        "severity": alarm.severity,
        "camera_id": alarm.camera_id,
        "commune_insee": alarm.commune_insee,
        "message": alarm.message,
        "at": at.isoformat(),
        "link": link,
    }
    for contact in contacts:
        if SEVERITIES.index(alarm.severity) < SEVERITIES.index(contact.min_severity):
            continue
        base = f"alarm:{alarm.id}:{action}:contact:{contact.id}"
        if contact.email:
            enqueue(
                db,
                key=f"{base}:email",
                channel="email",
                target=contact.email,
                subject=subject,
                body={"text": text},
                now=at,
            )
        if contact.webhook_url:
            enqueue(
                db,
                key=f"{base}:webhook",
                channel="webhook",
                target=contact.webhook_url,
                subject=subject,
                body={**payload, "contact_id": contact.id},
                now=at,
            )


def _get(db: Session, alarm_id: int) -> Alarm:
    alarm = db.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(t("continuity.alarm.not_found", alarm_id=alarm_id))
    return alarm


def _log(db: Session, alarm: Alarm, *, actor: str, action: str, text: str, now: datetime) -> None:
    db.add(AlarmNote(alarm_id=alarm.id, at=now, actor=actor, action=action, text=text))
    audit.append(
        db,
        at=now,
        action=f"alarm.{action}",
        actor=actor,
        commune_insee=alarm.commune_insee,
        target=f"alarm:{alarm.id}",
        details={"key": alarm.key, "text": text},
    )


def acknowledge(db: Session, *, alarm_id: int, actor: str, now: datetime) -> Alarm:
    alarm = _get(db, alarm_id)
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = now
        alarm.acknowledged_by = actor
        _log(db, alarm, actor=actor, action="ack", text="", now=now)
    return alarm


def assign(db: Session, *, alarm_id: int, actor: str, assignee: str, now: datetime) -> Alarm:
    assignee = assignee.strip()
    if not assignee:
        raise InvalidArgument(t("continuity.err.assignee"), field="assignee")
    alarm = _get(db, alarm_id)
    alarm.assigned_to = assignee
    _log(db, alarm, actor=actor, action="assign", text=assignee, now=now)
    return alarm


def comment(db: Session, *, alarm_id: int, actor: str, text: str, now: datetime) -> Alarm:
    if not text.strip():
        raise InvalidArgument(t("continuity.alarm.empty_comment"), field="text")
    alarm = _get(db, alarm_id)
    _log(db, alarm, actor=actor, action="comment", text=text.strip(), now=now)
    return alarm


def escalate_due(db: Session, *, now: datetime, after_s: float) -> list[Alarm]:
    """Open alarms nobody acknowledged within ``after_s`` (since raise or the
    last escalation) go up one level and are notified again."""
    out = []
    for alarm in open_alarms(db):
        if alarm.acknowledged_at is not None:
            continue
        since = alarm.escalated_at or alarm.raised_at
        if now - since < timedelta(seconds=after_s):
            continue
        alarm.escalation_level += 1
        alarm.escalated_at = now
        text = t(
            "continuity.alarm.escalated",
            minutes=int((now - alarm.raised_at).total_seconds() // 60),
            level=alarm.escalation_level,
        )
        _log(db, alarm, actor=SYSTEM, action="escalate", text=text, now=now)
        _notify(db, alarm, f"escalate{alarm.escalation_level}", now)
        out.append(alarm)
    return out
