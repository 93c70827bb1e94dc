"""FastAPI dependencies: database session, the signed-in account, roles, CSRF.

Routes declare what they need once, as dependencies; every API route is
authenticated unless it says otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.clock import Clock
from vigie.base.errors import PermissionDenied, Unauthenticated
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.domain.signing import derive_key
from vigie.storage.db import session_scope
from vigie.storage.models import Account, ApiToken, UserSession

SESSION_COOKIE = "vigie_session"
CSRF_COOKIE = "vigie_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_PREFIX = "vgt_"


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    username: str
    role: str
    mfa: bool = False  # a second factor was given in this session
    session: str | None = None  # the session's token hash (None for API tokens)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    """The application's clock (``create_app(clock=...)``): every route reads time here."""
    clock: Clock = request.app.state.clock
    return clock


AppClock = Annotated[Clock, Depends(get_clock)]


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.sessions) as session:
        yield session


# Committed when the route returns, before the response is sent: a client that acts
# on the response (the next request after signing in) always finds the data.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def audit_key(settings: Settings) -> bytes:
    return derive_key(settings.secret_key, "audit")


def _from_api_token(db: Session, token: str, clock: Clock) -> Principal:
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    now = clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthenticated(t("auth.token_invalid"))
    account = db.get(Account, row.account_id)
    if account is None or not account.is_active:
        raise Unauthenticated(t("auth.token_invalid"))
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return Principal(account_id=account.id, username=account.username, role=account.role)


def current_principal(request: Request, db: DbSession, clock: AppClock) -> Principal:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return _from_api_token(db, authorization[7:].strip(), clock)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(t("auth.required"))
    row = db.get(UserSession, token_hash(token))
    if row is None:
        raise Unauthenticated(t("auth.required"))
    if row.expires_at <= clock.now():
        db.delete(row)
        raise Unauthenticated(t("auth.expired"))
    account = db.get(Account, row.account_id)
    if account is None or not account.is_active:
        raise Unauthenticated(t("auth.required"))
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, row.csrf):
            raise PermissionDenied(t("auth.csrf"))
    return Principal(
        account_id=account.id,
        username=account.username,
        role=account.role,
        mfa=row.mfa,
        session=row.token_hash,
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Dependency factory: the signed-in account must hold one of ``roles``."""

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise PermissionDenied(t("auth.forbidden"))
        return principal

    return _check
