from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.storage import audit
from vigie.storage.models import AuditEntry

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_entries_chain_each_to_the_previous(db_session: Session) -> None:
    first = audit.append(db_session, at=T0, action="sign_in", actor="alice", actor_account_id=1)
    second = audit.append(
        db_session,
        at=T0 + timedelta(seconds=1),
        action="live_start",
        actor="alice",
        commune_insee="59350",
        target="camera:3",
        details={"stream": "sub"},
    )
    assert first.prev_hash == audit.GENESIS_HASH
    assert second.prev_hash == first.entry_hash
    assert second.id == first.id + 1
    db_session.expire_all()
    rows = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    prev = audit.GENESIS_HASH
    for row in rows:
        assert audit.entry_digest(prev, audit.hashed_fields(row)) == row.entry_hash
        prev = row.entry_hash


def test_an_edited_field_no_longer_matches_its_hash(db_session: Session) -> None:
    entry = audit.append(db_session, at=T0, action="export", actor="bob", reason="PV 2026/12")
    entry.reason = "autre"
    assert audit.entry_digest(entry.prev_hash, audit.hashed_fields(entry)) != entry.entry_hash
