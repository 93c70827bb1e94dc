"""Shared fixtures of the control tests: a signed-in administrator, and the
two-commune world (tests/unit/control/two_communes.py) of the access matrix and
the record-scope tests (a module may define its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from tests.unit.control.two_communes import Clients, World, build, signed_in
from vigie.base.clock import SimulatedClock
from vigie.domain import roles


@pytest.fixture
def admin(api: ApiClient, session_factory: sessionmaker[Session]) -> ApiClient:
    make_account(session_factory, "admin", roles.METRO_ADMIN)
    api.login("admin")
    return api


@pytest.fixture
def world(tmp_path: Path, session_factory: sessionmaker[Session]) -> World:
    return build(session_factory, tmp_path / "exports")


@pytest.fixture
def clients(
    tmp_path: Path, session_factory: sessionmaker[Session], world: World, clock: SimulatedClock
) -> Iterator[Clients]:
    with signed_in(tmp_path, session_factory, clock) as out:
        yield out
