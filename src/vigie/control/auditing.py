"""What a signed-in person did, written to the audit log: the one way routes do it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from vigie.control.deps import Principal
from vigie.storage import audit
from vigie.storage.db import session_now


def record(
    db: Session,
    p: Principal,
    action: str,
    commune: str | None = None,
    target: str = "",
    reason: str = "",
    *,
    at: datetime | None = None,
    details: dict[str, Any] | None = None,
    **more: Any,
) -> None:
    """Append ``action`` by ``p`` (now, unless ``at``) in the request's transaction;
    ``details`` and keyword arguments become the entry's details."""
    audit.append(
        db, at=at or session_now(db), action=action, actor=p.username,
        actor_account_id=p.account_id, commune_insee=commune, target=target, reason=reason,
        details={**(details or {}), **more},
    )  # fmt: skip
