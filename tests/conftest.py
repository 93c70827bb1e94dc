from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.communes import load_reference_communes
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.repositories import upsert_communes


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        upsert_communes(s, load_reference_communes())
    yield factory
    engine.dispose()


@pytest.fixture
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_scope(session_factory) as s:
        yield s
