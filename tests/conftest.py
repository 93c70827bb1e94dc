from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import tests.faketime_shim  # noqa: F401  (time.sleep under libfaketime)

# The session fails if a process it started still runs at its end (tests/processes.py).
from tests.processes import pytest_configure, pytest_sessionfinish  # noqa: F401
from vigie.domain.communes import load_reference_communes
from vigie.domain.signing import derive_key
from vigie.storage import audit
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.repositories import upsert_communes


@pytest.fixture(autouse=True)
def _audit_key() -> None:
    audit.set_key(derive_key(TEST_SECRET, "audit"))


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
from datetime import UTC, datetime  # noqa: E402

from fastapi.testclient import TestClient  # noqa: E402

from vigie.base.clock import SimulatedClock  # noqa: E402
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


ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def grant_images(
    factory: sessionmaker[Session],
    account_id: int,
    camera_ids: list[int],
    *,
    windows: list[dict[str, str | int]] | None = None,
) -> None:
    """Give an account what the authority model requires to see these cameras:
    a valid authorisation for each camera, an agrément (centre and commune
    operators), the commune scope (commune roles), a delegation (centre, national
    police)."""
    from datetime import date

    from vigie.control.authority import AGREMENT_ROLES, CENTRE_ROLES, LOCAL_ROLES
    from vigie.domain import roles as r
    from vigie.storage.models import (
        AccountCommune,
        Agrement,
        AgrementAuthorisation,
        Authorisation,
        Camera,
        Delegation,
    )

    with session_scope(factory) as s:
        account = s.get(Account, account_id)
        assert account is not None
        auth_ids: set[int] = set()
        communes: set[str] = set()
        for cid in camera_ids:
            cam = s.get(Camera, cid)
            assert cam is not None
            communes.add(cam.commune_insee)
            if cam.authorisation_id is None:
                auth = Authorisation(
                    commune_insee=cam.commune_insee, number=f"T-{cam.commune_insee}-{cid}",
                    issued_on=date(2024, 1, 1), expires_on=date(2028, 12, 31),
                    retention_min_days=0, retention_max_days=30,
                )  # fmt: skip
                s.add(auth)
                s.flush()
                cam.authorisation_id = auth.id
            auth_ids.add(cam.authorisation_id)
        if account.role in AGREMENT_ROLES:
            s.add(
                Agrement(
                    account_id=account.id,
                    reference=f"AGR-{account.id}-{len(auth_ids)}-{min(auth_ids, default=0)}",
                    issued_on=date(2024, 1, 1),
                    vetted_on=date(2024, 1, 1),
                    expires_on=date(2028, 12, 31),
                    authorisations=[
                        AgrementAuthorisation(authorisation_id=a) for a in sorted(auth_ids)
                    ],
                )
            )
        if account.role in LOCAL_ROLES or account.role == r.NATIONAL_POLICE:
            have = {c.commune_insee for c in account.communes}
            account.communes += [AccountCommune(commune_insee=c) for c in communes - have]
        if account.role in CENTRE_ROLES or account.role == r.NATIONAL_POLICE:
            grantee = "national_police" if account.role == r.NATIONAL_POLICE else "cmsu"
            # In force since before any footage a test records (the centre sees
            # recorded images only of periods delegated to it).
            since = datetime(2024, 1, 1, tzinfo=UTC)
            for code in communes:
                s.add(Delegation(commune_insee=code, grantee=grantee, windows=windows or ALL_WEEK,
                                 created_at=since))  # fmt: skip


class ApiClient(TestClient):
    csrf: str = ""

    def login(self, username: str, password: str = "pw-" + "a" * 12) -> None:
        r = self.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]
        self.headers["X-CSRF-Token"] = self.csrf


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The second factor has its own tests; elsewhere it is off so that tests sign in simply.
    return Settings(
        data_dir=tmp_path, secret_key=TEST_SECRET, media_base_port=18100, totp_required=False
    )


# The instant the control-plane tests start at, whatever today's date is: every
# date those tests build is relative to it (or set on the clock by the test).
TEST_START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # a Monday, 12:00 in Paris


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(TEST_START)


@pytest.fixture
def api(
    settings: Settings, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> Iterator[ApiClient]:
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)
    with ApiClient(app) as client:
        yield client
