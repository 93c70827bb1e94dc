"""Append-only, hash-chained audit log.

Every entry's ``entry_hash`` is SHA-256 over the previous entry's hash and a
canonical JSON of this entry's fields, so any edited, deleted or reordered
entry breaks the chain from that point on. ``append`` is the only writer.

The chain alone cannot show that its newest entries were deleted, nor that
someone rewrote an entry and recomputed every later hash. So each append also
updates an anchor (``audit_anchor``: newest id and hash, oldest kept id) with
an HMAC under a key derived from the server secret, which SQL access alone
does not give. ``verify`` checks chain and anchor and says where it breaks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vigie.base.clock import require_utc
from vigie.storage.models import AuditAnchor, AuditEntry

GENESIS_HASH = "0" * 64
RETENTION_DAYS = 3 * 365

_key: bytes | None = None


def set_key(key: bytes) -> None:
    """Install the anchor's MAC key (derived from the server secret) for this process."""
    global _key
    _key = key


def _anchor_mac(key: bytes, head_id: int, head_hash: str, base_id: int, base_prev: str) -> str:
    msg = f"{head_id}:{head_hash}:{base_id}:{base_prev}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _update_anchor(db: Session, head: AuditEntry) -> None:
    if _key is None:
        raise RuntimeError("audit key not configured: call vigie.storage.audit.set_key first")
    anchor = db.get(AuditAnchor, 1)
    if anchor is None:
        anchor = AuditAnchor(id=1, base_id=head.id, base_prev_hash=head.prev_hash)
        db.add(anchor)
    elif anchor.head_id == 0:  # the first entry ever
        anchor.base_id, anchor.base_prev_hash = head.id, head.prev_hash
    anchor.head_id = head.id
    anchor.head_hash = head.entry_hash
    anchor.mac = _anchor_mac(_key, head.id, head.entry_hash, anchor.base_id, anchor.base_prev_hash)


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
    """The last entry, read only once this transaction holds the write lock.

    Writing the anchor row first takes SQLite's write lock (other writers wait,
    ``timeout`` 30 s) or PostgreSQL's row lock on the anchor, so two requests
    appending at once cannot both read the same tail.
    """
    db.execute(update(AuditAnchor).where(AuditAnchor.id == 1).values(head_id=AuditAnchor.head_id))
    return db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()


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
    _update_anchor(db, entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class Problem:
    entry_id: int | None
    kind: str  # edited, deleted, reordered, truncated, anchor
    message: str


def verify(db: Session, key: bytes, batch: int = 5000) -> tuple[int, list[Problem]]:
    """Walk the chain in id order; return (entries checked, problems found)."""
    problems: list[Problem] = []
    anchor = db.get(AuditAnchor, 1)
    count = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    if anchor is None:
        if count:
            problems.append(Problem(None, "anchor", "l'ancre du journal a disparu"))
        return count, problems
    if anchor.head_id == 0 and not anchor.mac:
        if count:
            problems.append(Problem(None, "anchor", "l'ancre du journal a été remise à zéro"))
        return count, problems
    expected_mac = _anchor_mac(
        key, anchor.head_id, anchor.head_hash, anchor.base_id, anchor.base_prev_hash
    )
    if not hmac.compare_digest(expected_mac, anchor.mac):
        problems.append(
            Problem(None, "anchor", "l'ancre du journal a été modifiée (signature invalide)")
        )
    prev_hash, expected_id = anchor.base_prev_hash, anchor.base_id
    last_id = 0
    offset_id = 0
    while True:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.id > offset_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.id < expected_id and row.id < anchor.base_id:
                problems.append(
                    Problem(row.id, "edited", f"entrée {row.id} antérieure à la base du journal")
                )
            elif row.id != expected_id:
                problems.append(
                    Problem(
                        row.id,
                        "deleted",
                        f"entrées {expected_id} à {row.id - 1} supprimées",
                    )
                )
            elif row.prev_hash != prev_hash:
                problems.append(
                    Problem(
                        row.id,
                        "reordered",
                        f"entrée {row.id} : ne suit pas l'entrée précédente "
                        "(supprimée, déplacée ou réécrite)",
                    )
                )
            if entry_digest(row.prev_hash, hashed_fields(row)) != row.entry_hash:
                problems.append(
                    Problem(row.id, "edited", f"entrée {row.id} : contenu modifié après écriture")
                )
            prev_hash, expected_id, last_id = row.entry_hash, row.id + 1, row.id
        offset_id = rows[-1].id
    if last_id != anchor.head_id:
        if last_id < anchor.head_id:
            problems.append(
                Problem(
                    last_id + 1,
                    "truncated",
                    f"entrées {last_id + 1} à {anchor.head_id} supprimées (fin du journal)",
                )
            )
        else:
            problems.append(Problem(anchor.head_id + 1, "anchor", "entrées ajoutées hors de Vigie"))
    elif count and prev_hash != anchor.head_hash:
        problems.append(Problem(last_id, "edited", "la chaîne a été recalculée après modification"))
    return count, problems


def purge(db: Session, *, now: datetime, retention_days: int = RETENTION_DAYS) -> int:
    """Delete entries older than the retention (3 years by default) and move the
    anchor's base; never called by the video purge."""
    if _key is None:
        raise RuntimeError("audit key not configured")
    cutoff = require_utc(now, "now") - timedelta(days=retention_days)
    first_kept = db.scalars(
        select(AuditEntry).where(AuditEntry.at >= cutoff).order_by(AuditEntry.id).limit(1)
    ).first()
    anchor = db.get(AuditAnchor, 1)
    if anchor is None:
        return 0
    limit_id = first_kept.id if first_kept is not None else anchor.head_id + 1
    removed = db.query(AuditEntry).filter(AuditEntry.id < limit_id).delete()
    if removed:
        if first_kept is not None:
            anchor.base_id, anchor.base_prev_hash = first_kept.id, first_kept.prev_hash
        else:
            anchor.base_id, anchor.base_prev_hash = anchor.head_id + 1, anchor.head_hash
        anchor.mac = _anchor_mac(
            _key, anchor.head_id, anchor.head_hash, anchor.base_id, anchor.base_prev_hash
        )
    return int(removed)
