"""Sign-in protections: lockout, throttling, CSRF, session fixation, sign-out
everywhere, TOTP second factor, API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET, ApiClient, grant_images, make_account
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.control.app import create_app
from vigie.domain import roles, totp
from vigie.storage.db import session_scope
from vigie.storage.models import Account, AuditEntry, Camera

PW = "pw-" + "a" * 12


def actions(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as s:
        return [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_lockout_after_repeated_failures(
    api: ApiClient, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    make_account(session_factory, "op", roles.CMSU_OPERATOR)
    for _ in range(5):
        assert (
            api.post("/api/auth/login", json={"username": "op", "password": "wrong"}).status_code
            == 401
        )
    # Locked for this address: even the right password is refused, with the same message.
    r = api.post("/api/auth/login", json={"username": "op", "password": PW})
    assert r.status_code == 401
    assert "verrouillé" in r.json()["error"]["message"]
    clock.advance(14 * 60)
    assert api.post("/api/auth/login", json={"username": "op", "password": PW}).status_code == 401
    clock.advance(60)  # the lockout (15 min) elapsed
    assert api.post("/api/auth/login", json={"username": "op", "password": PW}).status_code == 200
    log = actions(session_factory)
    assert log.count("sign_in_failed") == 7 and log[-1] == "sign_in"


def _from(app: object, address: str) -> ApiClient:
    return ApiClient(app, client=(address, 50000))  # type: ignore[arg-type]


def _login(c: ApiClient, password: str) -> int:
    return c.post("/api/auth/login", json={"username": "op", "password": password}).status_code


def test_an_attacker_from_one_address_cannot_lock_the_user_out_from_another(
    settings: Settings, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    make_account(session_factory, "op", roles.CMSU_OPERATOR)
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)
    with _from(app, "203.0.113.9") as attacker, _from(app, "198.51.100.7") as user:
        assert [_login(attacker, "wrong") for _ in range(5)] == [401] * 5
        assert _login(attacker, PW) == 401  # this address: locked out of the account
        # The account as a whole only backs off for a moment (1 s after 5 failures).
        assert _login(user, PW) == 401
        clock.advance(1)
        assert _login(user, PW) == 200
        assert _login(attacker, PW) == 401  # still locked there, for 15 minutes
        clock.advance(15 * 60)
        assert _login(attacker, PW) == 200


def test_account_back_off_grows_but_stays_short(
    settings: Settings, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    """Failures spread over many addresses (none reaches its own lockout): each
    failure past the fifth doubles the account's pause, up to login_backoff_max_s."""
    account_id = make_account(session_factory, "op", roles.CMSU_OPERATOR)
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)

    def pause_s() -> float:
        with session_scope(session_factory) as s:
            account = s.get(Account, account_id)
            assert account is not None
            if account.locked_until is None:
                return 0.0
            return (account.locked_until - clock.now()).total_seconds()

    pauses = []
    for i in range(12):
        with _from(app, f"192.0.2.{i + 1}") as c:
            assert _login(c, "wrong") == 401
            pauses.append(pause_s())
            if pauses[-1]:  # while the account pauses, attempts are refused and not counted
                assert _login(c, "wrong") == 401
                assert pause_s() == pauses[-1]
        clock.advance(pauses[-1])
    assert pauses == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    with _from(app, "192.0.2.200") as user:
        assert _login(user, PW) == 200
    assert pause_s() == 0


def test_unknown_and_known_accounts_cost_the_same_password_hash(
    api: ApiClient, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
    clock: SimulatedClock,
) -> None:  # fmt: skip
    """No account enumeration by timing: every refused sign-in runs one argon2 verification."""
    from argon2 import PasswordHasher

    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(password))
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    make_account(session_factory, "op", roles.CMSU_OPERATOR)
    make_account(session_factory, "gone", roles.CMSU_OPERATOR)
    with session_scope(session_factory) as s:
        gone = s.scalar(select(Account).where(Account.username == "gone"))
        assert gone is not None
        gone.is_active = False

    def hashes_for(username: str, password: str = "wrong") -> int:
        before = len(calls)
        r = api.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 401
        return len(calls) - before

    assert hashes_for("nobody") == 1  # unknown account: a dummy hash is verified
    assert hashes_for("op") == 1  # wrong password
    assert hashes_for("gone", PW) == 1  # disabled account
    for _ in range(4):
        hashes_for("op")
    assert hashes_for("op", PW) == 1  # locked account
    assert hashes_for("nobody") == 1


def test_throttling_per_client(api: ApiClient) -> None:
    statuses = [
        api.post("/api/auth/login", json={"username": f"nobody{i}", "password": "x"}).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_csrf_required_for_changes(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    make_account(session_factory, "admin", roles.METRO_ADMIN)
    api.login("admin")
    del api.headers["X-CSRF-Token"]
    r = api.post("/api/auth/tokens", json={"name": "x"})
    assert r.status_code == 403
    api.headers["X-CSRF-Token"] = "forged"
    assert api.post("/api/auth/tokens", json={"name": "x"}).status_code == 403


def test_no_session_fixation_and_sign_out_everywhere(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    make_account(session_factory, "op", roles.CMSU_OPERATOR)
    app = create_app(settings, sessions=session_factory, background=False)
    with ApiClient(app) as a, ApiClient(app) as b:
        a.cookies.set("vigie_session", "planted-by-attacker", domain="testserver.local")
        a.login("op")
        assert a.cookies.get("vigie_session") != "planted-by-attacker"
        b.cookies.set("vigie_session", "planted-by-attacker", domain="testserver.local")
        assert b.get("/api/auth/me").status_code == 401
        b.login("op")
        assert a.get("/api/auth/me").status_code == 200
        assert b.post("/api/auth/logout-everywhere").status_code == 204
        assert a.get("/api/auth/me").status_code == 401
        assert b.get("/api/auth/me").status_code == 401
    assert "sign_out_everywhere" in actions(session_factory)


@pytest.fixture
def strict_api(
    tmp_path: Path, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> Iterator[ApiClient]:
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, media_base_port=18100,
                        totp_required=True)  # fmt: skip
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)
    with ApiClient(app) as c:
        yield c


def test_totp_required_for_images(
    strict_api: ApiClient, session_factory: sessionmaker[Session], clock: SimulatedClock
) -> None:
    admin = make_account(session_factory, "admin", roles.METRO_ADMIN)
    op = make_account(session_factory, "op", roles.CMSU_OPERATOR)
    with session_scope(session_factory) as s:
        cam = Camera(name="c", commune_insee="59350", main_url="rtsp://192.0.2.1/s")
        s.add(cam)
        s.flush()
        cam_id = cam.id
    grant_images(session_factory, op, [cam_id])
    api = strict_api
    me = api.post("/api/auth/login", json={"username": "op", "password": PW}).json()
    api.headers["X-CSRF-Token"] = me["csrf"]
    assert me["totp_enrolment_required"] is True and me["mfa"] is False
    assert api.post(f"/api/cameras/{cam_id}/tickets", json={"stream": "main"}).status_code == 404
    setup = api.post("/api/auth/totp/setup").json()
    assert setup["uri"].startswith("otpauth://totp/Vigie:op?secret=")
    bad = api.post("/api/auth/totp/confirm", json={"code": "000000"})
    assert bad.status_code == 422
    code = totp.code_at(setup["secret"], int(clock.now().timestamp() // 30))
    me = api.post("/api/auth/totp/confirm", json={"code": code}).json()
    assert me["mfa"] is True and me["totp_enabled"] is True
    assert api.post(f"/api/cameras/{cam_id}/tickets", json={"stream": "main"}).status_code == 200
    # Next sign-in: the code is asked for, a replayed one refused, a fresh one accepted.
    api.cookies.clear()
    r = api.post("/api/auth/login", json={"username": "op", "password": PW})
    assert r.status_code == 401 and r.json()["error"].get("field") == "totp"
    r = api.post("/api/auth/login", json={"username": "op", "password": PW, "totp": code})
    assert r.status_code == 401  # already used
    next_code = totp.code_at(setup["secret"], int(clock.now().timestamp() // 30) + 1)
    r = api.post("/api/auth/login", json={"username": "op", "password": PW, "totp": next_code})
    assert r.status_code == 200 and r.json()["mfa"] is True
    assert admin  # the administrator needs no second factor to sign in (no images)


def test_api_tokens(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    make_account(session_factory, "admin", roles.METRO_ADMIN)
    api.login("admin")
    created = api.post("/api/auth/tokens", json={"name": "supervision", "expires_days": 30})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("vgt_")
    listed = api.get("/api/auth/tokens").json()
    assert listed[0]["token"] is None  # never shown again
    with ApiClient(api.app) as integration:
        bearer = {"Authorization": f"Bearer {token}"}
        assert integration.get("/api/cameras", headers=bearer).status_code == 200
        # No cookie, no CSRF token needed for a bearer token.
        r = integration.post("/api/cameras", headers=bearer,
                             json={"name": "x", "commune_insee": "59350", "main_url": "rtsp://192.0.2.9/a"})  # fmt: skip
        assert r.status_code == 201
        assert api.delete(f"/api/auth/tokens/{created.json()['id']}").status_code == 204
        assert integration.get("/api/cameras", headers=bearer).status_code == 401
        assert (
            integration.get(
                "/api/cameras", headers={"Authorization": "Bearer vgt_forged"}
            ).status_code
            == 401
        )
