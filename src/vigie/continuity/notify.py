"""Notifications through a persisted outbox: e-mail (SMTP) and signed
webhooks, retried with exponential backoff until delivered.

The outbox row is written in the same transaction as the alarm event, so
nothing is lost when a receiver (or Vigie) is down. Delivery marks a row
sent only after the receiver accepted it; every message carries its
``idempotency_key`` (``Message-ID`` header for e-mail, ``Idempotency-Key``
for webhooks) so a receiver can drop the rare repeat after a crash between
acceptance and marking.

Webhook signature: header ``X-Vigie-Timestamp`` (Unix seconds) and
``X-Vigie-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``;
receivers reject timestamps older than 5 minutes (``verify_signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigie.continuity.models import Contact, OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 2.0
BACKOFF_MAX_S = 600.0
SIGNATURE_MAX_AGE_S = 300


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


def enqueue(
    db: Session,
    *,
    key: str,
    channel: str,
    target: str,
    subject: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxMessage | None:
    """Add a message unless one with this idempotency key exists."""
    if db.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    msg = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        target=target,
        subject=subject,
        body=body,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        last_error="",
    )
    try:
        with db.begin_nested():
            db.add(msg)
    except IntegrityError:
        return None
    return msg


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, signature: str, body: bytes, now_s: float
) -> bool:
    """What a receiver does: constant-time compare, and a fresh timestamp."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - ts) > SIGNATURE_MAX_AGE_S:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


class Sender(Protocol):
    def send(self, msg: OutboxMessage, *, secret: str | None, now: datetime) -> None:
        """Deliver or raise."""


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, msg: OutboxMessage, *, secret: str | None, now: datetime) -> None:
        cfg = self.config
        email = EmailMessage()
        email["From"] = cfg.sender
        email["To"] = msg.target
        email["Subject"] = msg.subject
        email["Date"] = format_datetime(now)
        domain = cfg.sender.rsplit("@", 1)[-1] or "vigie"
        email["Message-ID"] = make_msgid(
            idstring=hashlib.sha256(msg.idempotency_key.encode()).hexdigest()[:24], domain=domain
        )
        email["X-Vigie-Idempotency-Key"] = msg.idempotency_key
        email.set_content(str(msg.body.get("text", "")))
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
            if cfg.starttls:
                smtp.starttls()
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            smtp.send_message(email)


class WebhookSender:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s

    def send(self, msg: OutboxMessage, *, secret: str | None, now: datetime) -> None:
        body = json.dumps(msg.body, sort_keys=True, ensure_ascii=False).encode()
        ts = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": msg.idempotency_key,
            "X-Vigie-Timestamp": str(ts),
        }
        if secret:
            headers["X-Vigie-Signature"] = sign(secret, ts, body)
        req = urllib.request.Request(msg.target, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
            if not 200 <= res.status < 300:
                raise OSError(f"HTTP {res.status}")


def backoff_s(attempts: int) -> float:
    return float(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1)))


def deliver_due(
    db: Session,
    *,
    now: datetime,
    senders: dict[str, Sender],
    limit: int = 100,
) -> tuple[int, int]:
    """Try every due message once; returns (sent, failed). Commits per message
    so that a crash never resends what was already marked."""
    due = list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    sent = failed = 0
    for msg in due:
        sender = senders.get(msg.channel)
        if sender is None:
            continue
        secret = None
        contact_id = msg.body.get("contact_id") if msg.channel == "webhook" else None
        if contact_id is not None:
            contact = db.get(Contact, int(contact_id))
            secret = contact.webhook_secret if contact is not None else None
        msg.attempts += 1
        try:
            sender.send(msg, secret=secret, now=now)
        except (OSError, smtplib.SMTPException, urllib.error.URLError) as exc:
            msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
            msg.next_attempt_at = now + timedelta(seconds=backoff_s(msg.attempts))
            failed += 1
            log.info(
                "notification %s failed (attempt %d): %s", msg.idempotency_key, msg.attempts, exc
            )
        else:
            msg.sent_at = now
            msg.last_error = ""
            sent += 1
        db.commit()
    return sent, failed
