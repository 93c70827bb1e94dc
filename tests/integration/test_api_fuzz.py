"""Schemathesis over every operation of ``/openapi.json``: no request crashes
the server and every answer matches what the OpenAPI document says.

Runs twice: as an anonymous caller and as a signed-in metropolitan
administrator (a fresh session and CSRF token for every request, so that
``logout``, ``logout-everywhere`` and ``disable`` are exercised too without
signing the fuzzer out). Bounded: a few fuzzed examples per operation plus
schemathesis' coverage cases (boundaries, wrong types, missing fields);
deterministic (``derandomize``) so that a failure reproduces.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET, TEST_START
from tests.integration.stack import free_port
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.cli.demo import DEMO_COMMUNES, seed
from vigie.control.app import create_app
from vigie.control.deps import CSRF_HEADER, SESSION_COOKIE, token_hash
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade
from vigie.storage.models import Account, UserSession

MAX_EXAMPLES = 6  # fuzzed examples per operation and caller, on top of the coverage cases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Fuzzed:
    app: FastAPI
    sessions: sessionmaker[Session]
    admin_id: int


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'vigie.db'}"
    upgrade(url)
    clock = SimulatedClock(TEST_START)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, clock)
    closed = free_port()  # nothing listens there: cameras stay offline
    cameras = [
        (f"Caméra {i}", DEMO_COMMUNES[i % len(DEMO_COMMUNES)][0],
         f"rtsp://127.0.0.1:{closed}/cam{i}", f"rtsp://127.0.0.1:{closed}/cam{i}s")
        for i in range(8)
    ]  # fmt: skip
    with session_scope(sessions) as db:
        seed(db, cameras, demo_mask=True)
    with session_scope(sessions) as db:
        admin_id = db.scalar(select(Account.id).where(Account.username == "admin"))
    assert admin_id is not None
    settings = Settings(
        data_dir=tmp, secret_key=TEST_SECRET, media_base_port=free_port(), totp_required=False
    )
    app = create_app(settings, sessions=sessions, background=False, clock=clock)
    yield Fuzzed(app, sessions, admin_id)
    engine.dispose()


@dataclass
class Summary:
    caller: str
    operations: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def distinct(self) -> list[str]:
        """One line per operation and kind of failure (the first example of each)."""
        seen: dict[str, str] = {}
        for line in self.failures:
            seen.setdefault(line.split(": ")[0] + line.split(": ")[1].split(":")[0], line)
        return list(seen.values())

    def text(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"schemathesis as {self.caller}: {self.operations} operations, "
            f"{self.requests} requests ({codes}), {len(self.failures)} failures"
        )


def _sign_in(f: Fuzzed) -> tuple[dict[str, str], dict[str, str]]:
    """A fresh session of the administrator (as ``/api/auth/login`` makes one)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with session_scope(f.sessions) as db:
        db.execute(update(Account).where(Account.id == f.admin_id).values(is_active=True))
        now = TEST_START
        db.add(UserSession(token_hash=token_hash(token), account_id=f.admin_id, csrf=csrf,
                           created_at=now, expires_at=now + timedelta(days=3650), client="fuzz"))  # fmt: skip
    return {CSRF_HEADER: csrf}, {SESSION_COOKIE: token}


def _run(f: Fuzzed, caller: str) -> Summary:
    config = schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                           "database": "none", "no-shrink": True},
        }
    )  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", f.app, config=config)
    project = schema.config
    summary = Summary(caller)
    for result in schema.get_all_operations():
        operation = result.ok()
        summary.operations += 1

        def check(case: schemathesis.Case) -> None:
            headers, cookies = _sign_in(f) if caller == "admin" else ({}, {})
            summary.requests += 1
            label = f"{case.method} {case.formatted_path}"
            try:
                response = case.call(headers=headers, cookies=cookies)
            except Exception as exc:  # the application raised: a 500 for a real client
                summary.statuses[500] += 1
                summary.failures.append(f"{label}: {type(exc).__name__}: {exc}")
                return
            summary.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    detail = " ".join(failure.message.split())[:300]
                    summary.failures.append(
                        f"{case.operation.label} -> {response.status_code}: {failure.title}: {detail}"
                        f" [{case.as_curl_command(headers=headers)[:400]}]"
                    )

        test = create_test(
            operation=operation,
            test_func=check,
            config=HypothesisTestConfig(
                project=project,
                modes=[HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING],
                settings=hypothesis.settings(
                    project.get_hypothesis_settings(operation=operation, phase="fuzzing"),
                    deadline=None,
                    suppress_health_check=list(hypothesis.HealthCheck),
                ),
            ),
        )
        test()
    return summary


@pytest.mark.parametrize("caller", ["anonymous", "admin"])
def test_every_operation_answers_as_documented(
    fuzzed: Fuzzed, caller: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _run(fuzzed, caller)
    with capsys.disabled():
        print("\n" + summary.text())
        for failure in summary.distinct:
            print("  - " + failure)
    assert summary.operations >= 84
    assert not summary.failures, summary.text()
