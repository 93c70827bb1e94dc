"""FastAPI dependencies: database session, the signed-in account, roles, CSRF.

Routes declare what they need once, as dependencies; every API route is
authenticated unless it says otherwise.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigie.base.errors import PermissionDenied, Unauthenticated
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.domain.signing import derive_key, verify
from vigie.storage.db import session_scope
from vigie.storage.models import Account

SESSION_COOKIE = "vigie_session"
CSRF_COOKIE = "vigie_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE_S = 12 * 3600
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    username: str
    role: str


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def session_key(settings: Settings) -> bytes:
    return derive_key(settings.secret_key, "session")


def current_principal(request: Request, db: DbSession) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(t("auth.required"))
    payload = verify(token, session_key(get_settings(request)))
    if time.time() - float(payload.get("iat", 0)) > SESSION_MAX_AGE_S:
        raise Unauthenticated(t("auth.expired"))
    account = db.get(Account, int(payload.get("aid", 0)))
    if account is None or not account.is_active:
        raise Unauthenticated(t("auth.required"))
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = str(payload.get("csrf", ""))
        if not expected or not hmac.compare_digest(sent, expected):
            raise PermissionDenied(t("auth.csrf"))
    return Principal(account_id=account.id, username=account.username, role=account.role)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Dependency factory: the signed-in account must hold one of ``roles``."""

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise PermissionDenied(t("auth.forbidden"))
        return principal

    return _check
