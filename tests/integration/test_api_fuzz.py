"""Schemathesis over every operation of ``/openapi.json`` (docs/design/api.md):
no request crashes the server, and every answer is what the document says
(status code documented, content type, body schema).

Runs twice over the demo's data (accounts, cameras on four communes,
inventory, a questionnaire campaign): as an anonymous caller, and as the
signed-in metropolitan administrator (``VIGIE_FUZZ_CALLERS`` adds other demo
accounts) — a fresh session and CSRF token for every request, so that state-changing requests really get past the CSRF
check, and ``logout``, ``logout-everywhere`` or ``disable`` do not sign the
fuzzer out. For each operation: schemathesis' explicit examples, its coverage
cases (boundaries, wrong types, missing and null fields, wrong content types)
and ``VIGIE_FUZZ_EXAMPLES`` (default 6) generated examples, positive and
negative; deterministic (``derandomize``) so that a failure reproduces, unless
``VIGIE_FUZZ_SEED`` asks for other cases. A summary (operations, requests,
statuses, failures) is printed.
"""

from __future__ import annotations

import os
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

MAX_EXAMPLES = int(os.environ.get("VIGIE_FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = [HypothesisTestMode.EXAMPLES, HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# Demo accounts (vigie.cli.demo) the fuzzer signs in as; VIGIE_FUZZ_CALLERS adds
# others of them to explore, e.g. "maire.lille,superviseur,operateur".
CALLERS = ["anonymous", "admin"] + [
    c for c in os.environ.get("VIGIE_FUZZ_CALLERS", "").split(",") if c.strip()
]


@dataclass
class Fuzzed:
    app: FastAPI
    sessions: sessionmaker[Session]
    accounts: dict[str, int]  # username -> account id


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'vigie.db'}"
    upgrade(url)
    clock = SimulatedClock(TEST_START)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, clock)
    closed = free_port()  # nothing listens there: the cameras stay offline
    cameras = [
        (f"Caméra {i}", DEMO_COMMUNES[i % len(DEMO_COMMUNES)][0],
         f"rtsp://127.0.0.1:{closed}/cam{i}", f"rtsp://127.0.0.1:{closed}/cam{i}s")
        for i in range(8)
    ]  # fmt: skip
    with session_scope(sessions) as db:
        seed(db, cameras, demo_mask=True)
    with session_scope(sessions) as db:
        accounts = {a.username: a.id for a in db.scalars(select(Account))}
    settings = Settings(
        data_dir=tmp, secret_key=TEST_SECRET, media_base_port=free_port(), totp_required=False
    )
    app = create_app(settings, sessions=sessions, background=False, clock=clock)
    yield Fuzzed(app, sessions, accounts)
    engine.dispose()


@dataclass(frozen=True)
class Failure:
    operation: str
    status: int
    kind: str
    detail: str
    curl: str

    def __str__(self) -> str:
        return f"{self.operation} -> {self.status}: {self.kind}: {self.detail} [{self.curl}]"


@dataclass
class Summary:
    caller: str
    operations: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    answered_2xx: set[str] = field(default_factory=set)  # operations that got past every check
    unsafe_2xx: int = 0  # state-changing requests accepted (so CSRF was passed)
    failures: list[Failure] = field(default_factory=list)

    def distinct(self) -> list[Failure]:
        """The first example of each (operation, kind of failure)."""
        seen: dict[tuple[str, str], Failure] = {}
        for f in self.failures:
            seen.setdefault((f.operation, f.kind), f)
        return list(seen.values())

    def text(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"schemathesis as {self.caller}: {self.operations} operations "
            f"({len(self.answered_2xx)} answered 2xx at least once), {self.requests} requests "
            f"({codes}), {len(self.failures)} failures ({len(self.distinct())} distinct)"
        )


def _sign_in(f: Fuzzed, username: str) -> tuple[dict[str, str], dict[str, str]]:
    """A fresh session of ``username``, as ``/api/auth/login`` makes one (the
    account re-enabled, should a previous request have disabled it)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    account_id = f.accounts[username]
    with session_scope(f.sessions) as db:
        db.execute(update(Account).where(Account.id == account_id).values(is_active=True))
        db.add(UserSession(token_hash=token_hash(token), account_id=account_id, csrf=csrf,
                           created_at=TEST_START, expires_at=TEST_START + timedelta(days=365),
                           client="fuzz"))  # fmt: skip
    return {CSRF_HEADER: csrf}, {SESSION_COOKIE: token}


def _run(f: Fuzzed, caller: str) -> Summary:
    generation = {"max-examples": MAX_EXAMPLES, "database": "none", "no-shrink": True}
    seed = os.environ.get("VIGIE_FUZZ_SEED")  # exploring: other cases than the fixed ones
    config = schemathesis.Config.from_dict(
        {"generation": generation | {"deterministic": seed is None}}
        | ({"seed": int(seed)} if seed else {})
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", f.app, config=config)
    summary = Summary(caller)

    def check(case: schemathesis.Case) -> None:
        headers, cookies = ({}, {}) if caller == "anonymous" else _sign_in(f, caller)
        summary.requests += 1
        label = case.operation.label
        curl = case.as_curl_command(headers=headers)[:400]
        try:
            response = case.call(headers=headers, cookies=cookies)
        except Exception as exc:  # the application raised: a 500 for a real client
            summary.statuses[500] += 1
            summary.failures.append(Failure(label, 500, type(exc).__name__, str(exc)[:300], curl))
            return
        summary.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                detail = " ".join(failure.message.split())[:300]
                summary.failures.append(
                    Failure(label, response.status_code, failure.title, detail, curl)
                )
            return
        if 200 <= response.status_code < 300:
            summary.answered_2xx.add(label)
            summary.unsafe_2xx += case.method.upper() in UNSAFE

    for result in schema.get_all_operations():
        operation = result.ok()
        summary.operations += 1
        settings = hypothesis.settings(
            schema.config.get_hypothesis_settings(operation=operation, phase="fuzzing"),
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        create_test(
            operation=operation,
            test_func=check,
            config=HypothesisTestConfig(project=schema.config, modes=MODES, settings=settings),
        )()
    return summary


@pytest.mark.timeout(900)
@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_as_documented(
    fuzzed: Fuzzed, caller: str, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = _run(fuzzed, caller)
    with capsys.disabled():
        print("\n" + summary.text())
        for failure in summary.distinct():
            print(f"  - {failure}")
    spec = fuzzed.app.openapi()
    assert summary.operations == sum(len(item) for item in spec["paths"].values()) >= 84
    if caller == "anonymous":  # nothing but the sign-in form answers an anonymous caller
        assert summary.answered_2xx <= {"POST /api/auth/login"}, summary.answered_2xx
    else:  # signed in for real, CSRF included
        assert summary.unsafe_2xx > 5 and len(summary.answered_2xx) > 15, summary.text()
    if caller == "admin":
        assert len(summary.answered_2xx) > 30, summary.text()
    assert not summary.failures, summary.text()
