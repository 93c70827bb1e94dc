"""Sign-in and sign-out with a signed session cookie (HttpOnly, SameSite=Strict)."""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from vigie.base.errors import Unauthenticated
from vigie.base.i18n import t
from vigie.control.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    CurrentPrincipal,
    DbSession,
    get_settings,
    session_key,
)
from vigie.control.passwords import verify_password
from vigie.control.schemas import LoginIn, MeOut
from vigie.domain.signing import sign, verify
from vigie.storage.models import Account

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, db: DbSession) -> MeOut:
    account = db.scalar(select(Account).where(Account.username == body.username))
    if (
        account is None
        or not account.is_active
        or not verify_password(account.password_hash, body.password)
    ):
        raise Unauthenticated(t("auth.bad_credentials"))
    csrf = secrets.token_urlsafe(24)
    settings = get_settings(request)
    token = sign({"aid": account.id, "iat": time.time(), "csrf": csrf}, session_key(settings))
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=SESSION_MAX_AGE_S, samesite="strict", secure=secure
    )
    return MeOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        csrf=csrf,
    )


@router.post("/logout", status_code=204)
def logout(_principal: CurrentPrincipal, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal, request: Request, db: DbSession) -> MeOut:
    account = db.get(Account, principal.account_id)
    assert account is not None
    payload = verify(request.cookies[SESSION_COOKIE], session_key(get_settings(request)))
    return MeOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        csrf=str(payload.get("csrf", "")),
    )
