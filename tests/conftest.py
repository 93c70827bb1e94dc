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


# --- control plane helpers -----------------------------------------------------
from fastapi.testclient import TestClient  # noqa: E402

from vigie.base.settings import Settings  # noqa: E402
from vigie.control.app import create_app  # noqa: E402
from vigie.control.passwords import hash_password  # noqa: E402
from vigie.storage.models import Account  # noqa: E402

TEST_SECRET = "test-secret-" + "x" * 40


def make_account(
    factory: sessionmaker[Session], username: str, role: str, password: str = "pw-" + "a" * 12
) -> int:
    with session_scope(factory) as s:
        account = Account(
            username=username,
            display_name=username,
            password_hash=hash_password(password),
            role=role,
        )
        s.add(account)
        s.flush()
        return account.id


class ApiClient(TestClient):
    csrf: str = ""

    def login(self, username: str, password: str = "pw-" + "a" * 12) -> None:
        r = self.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]
        self.headers["X-CSRF-Token"] = self.csrf


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET, media_base_port=18100)


@pytest.fixture
def api(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[ApiClient]:
    app = create_app(settings, sessions=session_factory, background=False)
    with ApiClient(app) as client:
        yield client
