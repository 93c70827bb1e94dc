"""Append-only, hash-chained audit log.

Every entry's ``entry_hash`` is SHA-256 over the previous entry's hash and a
canonical JSON of this entry's fields, so any edited, deleted or reordered
entry breaks the chain from that point on. ``append`` is the only writer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.clock import require_utc
from vigie.storage.models import AuditEntry

GENESIS_HASH = "0" * 64


def entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + canonical).encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """The fields covered by the hash, in a stable, DB-independent form."""
    return {
        "id": entry.id,
        "at": require_utc(entry.at, "at").isoformat(timespec="microseconds"),
        "actor_account_id": entry.actor_account_id,
        "actor": entry.actor,
        "action": entry.action,
        "commune_insee": entry.commune_insee,
        "target": entry.target,
        "reason": entry.reason,
        "details": entry.details,
    }


def _lock_tail(db: Session) -> AuditEntry | None:
    """The last entry, locked so that concurrent appenders serialise (PostgreSQL);
    SQLite serialises writers by itself."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def append(
    db: Session,
    *,
    at: datetime,
    action: str,
    actor: str,
    actor_account_id: int | None = None,
    commune_insee: str | None = None,
    target: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction and return it (flushed)."""
    tail = _lock_tail(db)
    prev_hash = tail.entry_hash if tail is not None else GENESIS_HASH
    entry = AuditEntry(
        id=(tail.id + 1) if tail is not None else 1,
        at=require_utc(at, "at"),
        actor_account_id=actor_account_id,
        actor=actor,
        action=action,
        commune_insee=commune_insee,
        target=target,
        reason=reason,
        details=details or {},
        prev_hash=prev_hash,
        entry_hash="",
    )
    entry.entry_hash = entry_digest(prev_hash, hashed_fields(entry))
    db.add(entry)
    db.flush()
    return entry
