"""Tampering with the audit table in SQL is detected by ``vigie audit verify``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET
from vigie.cli.main import main
from vigie.domain.signing import derive_key
from vigie.storage import audit
from vigie.storage.db import session_scope

KEY = derive_key(TEST_SECRET, "audit")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def log(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_scope(session_factory) as s:
        for i in range(10):
            audit.append(s, at=T0 + timedelta(minutes=i), action="live_start", actor=f"op{i % 3}",
                         commune_insee="59350", target=f"camera:{i}")  # fmt: skip
    return session_factory


def problems(factory: sessionmaker[Session]) -> list[audit.Problem]:
    with session_scope(factory) as s:
        _count, found = audit.verify(s, KEY)
    return found


def sql(factory: sessionmaker[Session], *statements: str) -> None:
    with session_scope(factory) as s:
        for st in statements:
            s.execute(text(st))


def test_intact_log_verifies(log: sessionmaker[Session]) -> None:
    assert problems(log) == []


def test_edited_entry_is_named(log: sessionmaker[Session]) -> None:
    sql(log, "UPDATE audit_log SET actor = 'quelqu''un' WHERE id = 4")
    found = problems(log)
    assert [(p.entry_id, p.kind) for p in found] == [(4, "edited")]


def test_deleted_entry_is_named(log: sessionmaker[Session]) -> None:
    sql(log, "DELETE FROM audit_log WHERE id = 6")
    found = problems(log)
    assert (7, "deleted") in [(p.entry_id, p.kind) for p in found]
    assert "6" in found[0].message


def test_deleted_tail_is_seen(log: sessionmaker[Session]) -> None:
    sql(log, "DELETE FROM audit_log WHERE id >= 9")
    assert [(p.entry_id, p.kind) for p in problems(log)] == [(9, "truncated")]


def test_swapped_entries_are_seen(log: sessionmaker[Session]) -> None:
    sql(
        log,
        "UPDATE audit_log SET id = -3 WHERE id = 3",
        "UPDATE audit_log SET id = 3, entry_hash = entry_hash || 'x' WHERE id = 5",
        "UPDATE audit_log SET id = 5 WHERE id = -3",
        "UPDATE audit_log SET entry_hash = substr(entry_hash, 1, 64) WHERE id = 3",
    )
    kinds = {p.kind for p in problems(log)}
    assert "reordered" in kinds and "edited" in kinds


def test_rewritten_chain_is_seen_through_the_anchor(log: sessionmaker[Session]) -> None:
    # An attacker edits entry 2 and recomputes every hash after it: the chain is
    # consistent again, but the anchor (MAC'd with the server key) is not.
    with session_scope(log) as s:
        from sqlalchemy import select

        from vigie.storage.models import AuditEntry

        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        rows[1].reason = "effacé"
        prev = rows[0].entry_hash
        for row in rows[1:]:
            row.prev_hash = prev
            row.entry_hash = audit.entry_digest(prev, audit.hashed_fields(row))
            prev = row.entry_hash
    assert [p.kind for p in problems(log)] == ["edited"]


def test_cli_verify_exit_codes(
    log: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("VIGIE_DATABASE_URL", db_url)
    monkeypatch.setenv("VIGIE_SECRET_KEY", TEST_SECRET)
    assert main(["audit", "verify"]) == 0
    assert "intègre" in capsys.readouterr().out
    sql(log, "DELETE FROM audit_log WHERE id = 2")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "ALTÉRÉ" in out and "entrées 2 à 2 supprimées" in out


def test_purge_keeps_three_years_and_still_verifies(log: sessionmaker[Session]) -> None:
    with session_scope(log) as s:
        removed = audit.purge(s, now=T0 + timedelta(days=3 * 365, minutes=5))
    assert removed == 5
    assert problems(log) == []
