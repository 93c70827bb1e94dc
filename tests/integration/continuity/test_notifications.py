"""Notifications through the outbox to a real SMTP server (aiosmtpd) and a
real webhook receiver that is down first, then up: each message arrives
exactly once, webhooks carry a valid HMAC signature."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vigie.continuity import alarms
from vigie.continuity.models import Contact, OutboxMessage
from vigie.continuity.notify import (
    SmtpConfig,
    SmtpSender,
    WebhookSender,
    deliver_due,
    verify_signature,
)
from vigie.domain.alarms import Condition, Transition
from vigie.storage.db import session_scope
from vigie.storage.models import Camera

SECRET = "webhook-secret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


class Receiver:
    """A webhook endpoint that can be started later on a reserved port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def test_every_message_arrives_once(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, int]
) -> None:
    inbox, smtp_port = smtp
    hook = Receiver()
    t0 = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
    with session_scope(session_factory) as db:
        cam = Camera(name="Place Rihour", commune_insee="59350", main_url="rtsp://127.0.0.1/x")
        db.add(cam)
        db.add(Contact(commune_insee="59350", label="Technicien Lille", email="tech@lille.example"))
        db.add(
            Contact(
                commune_insee=None,
                label="Centre",
                email="cmsu@mel.example",
                webhook_url=f"http://127.0.0.1:{hook.port}/hook",
                webhook_secret=SECRET,
            )
        )
        db.add(Contact(commune_insee="59512", label="Autre commune", email="x@roubaix.example"))
        db.flush()
        cond = Condition("camera", str(cam.id), "offline", "critical", "Caméra hors ligne")
        alarms.apply(db, now=t0, transitions=[Transition("raise", cond, 0.0)])
        alarms.apply(
            db, now=t0 + timedelta(seconds=30), transitions=[Transition("clear", cond, 30.0)]
        )
    senders = {
        "email": SmtpSender(SmtpConfig("127.0.0.1", smtp_port, "vigie@mel.example")),
        "webhook": WebhookSender(timeout_s=2.0),
    }
    now = t0 + timedelta(seconds=31)
    # receiver down: e-mails go, webhooks fail and wait for their backoff
    with session_factory() as db:
        sent, failed = deliver_due(db, now=now, senders=senders)
    assert (sent, failed) == (4, 2)
    with session_factory() as db:  # nothing is due again before the backoff
        assert deliver_due(db, now=now + timedelta(seconds=1), senders=senders) == (0, 0)
    hook.start()
    try:
        with session_factory() as db:
            assert deliver_due(db, now=now + timedelta(seconds=3), senders=senders) == (2, 0)
        with session_factory() as db:
            assert deliver_due(db, now=now + timedelta(hours=1), senders=senders) == (0, 0)
            pending = db.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
            assert list(pending) == []
    finally:
        hook.stop()
    deadline = time.monotonic() + 5
    while len(inbox.mails) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    to = sorted(str(m["To"]) for m in inbox.mails)
    assert to == ["cmsu@mel.example"] * 2 + ["tech@lille.example"] * 2
    assert len({m["Message-ID"] for m in inbox.mails}) == 4
    assert any("Fin d'alarme" in str(m["Subject"]) for m in inbox.mails)
    assert len(hook.received) == 2
    events = []
    for headers, body in hook.received:
        assert verify_signature(
            SECRET,
            headers["X-Vigie-Timestamp"],
            headers["X-Vigie-Signature"],
            body,
            now_s=(now + timedelta(seconds=3)).timestamp(),
        )
        assert not verify_signature(
            "wrong",
            headers["X-Vigie-Timestamp"],
            headers["X-Vigie-Signature"],
            body,
            now_s=(now + timedelta(seconds=3)).timestamp(),
        )
        payload = json.loads(body)
        assert payload["link"].startswith(f"/playback?camera={payload['camera_id']}&at=")
        events.append(payload["event"])
    assert sorted(events) == ["alarm.clear", "alarm.raise"]
    assert len({h["Idempotency-Key"] for h, _ in hook.received}) == 2
