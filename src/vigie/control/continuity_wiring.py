"""Builds the health monitor and notification senders from the settings."""

from __future__ import annotations

from vigie.base.settings import Settings
from vigie.continuity.monitor import Monitor
from vigie.continuity.notify import Sender, SmtpConfig, SmtpSender, WebhookSender


def senders(settings: Settings) -> dict[str, Sender]:
    out: dict[str, Sender] = {"webhook": WebhookSender()}
    if settings.smtp_host:
        out["email"] = SmtpSender(
            SmtpConfig(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_sender,
                starttls=settings.smtp_starttls,
            )
        )
    return out


def continuity_monitor(settings: Settings) -> Monitor:
    return Monitor(
        senders=senders(settings),
        escalate_after_s=float(settings.alarm_escalate_after_s),
        data_dir=settings.data_dir,
    )
