"""Sign-in, sign-out (here or everywhere), second factor (TOTP) and API tokens.

Sessions live server-side (``user_sessions``); the cookie carries a random
token (HttpOnly, SameSite=Strict, Secure behind TLS) and a fresh one is made
at every sign-in, so a planted cookie is never adopted (no fixation). Failed
sign-ins lock the account for the address that failed, pause it briefly for
every address, and are throttled per client address (``login_guard``); every
refused sign-in costs one password hash, known account or not.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from vigie.base.errors import InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from vigie.base.i18n import t
from vigie.control.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    TOKEN_PREFIX,
    CurrentPrincipal,
    DbSession,
    Principal,
    get_settings,
    token_hash,
)
from vigie.control.login_guard import IP_WINDOW_S, LoginGuard
from vigie.control.navigation import features_for
from vigie.control.passwords import verify_password
from vigie.control.schemas import LoginIn, MeOut, PathId, errors
from vigie.domain import roles, totp
from vigie.storage import audit
from vigie.storage.db import session_clock, session_now
from vigie.storage.models import Account, ApiToken, UserSession

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=errors(401, 403))


def _guard(request: Request) -> LoginGuard:
    guard = getattr(request.app.state, "login_guard", None)
    if guard is None:
        guard = request.app.state.login_guard = LoginGuard(get_settings(request))
    assert isinstance(guard, LoginGuard)
    return guard


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _me(account: Account, session: UserSession | None, request: Request) -> MeOut:
    settings = get_settings(request)
    needs = (
        settings.totp_required and account.role in roles.IMAGE_ROLES and not account.totp_enabled
    )
    return MeOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        csrf=session.csrf if session else "",
        communes=sorted(c.commune_insee for c in account.communes),
        mfa=bool(session and session.mfa),
        totp_enabled=account.totp_enabled,
        totp_enrolment_required=needs,
        may=features_for(account.role, settings, mfa=bool(session and session.mfa)),
    )


@router.post("/login", response_model=MeOut, responses=errors(429))
def login(body: LoginIn, request: Request, response: Response, db: DbSession) -> MeOut:
    settings = get_settings(request)
    now = session_now(db)
    now_s = session_clock(db).monotonic()
    ip = _client(request)
    guard = _guard(request)
    if guard.throttle.blocked(ip, now_s):
        audit.append(db, at=now, action="sign_in_throttled", actor=body.username,
                     details={"client": ip})  # fmt: skip
        db.commit()
        raise ResourceExhausted(t("auth.throttled", minutes=int(IP_WINDOW_S // 60)))
    account = db.scalar(select(Account).where(Account.username == body.username))
    # Always one hash, whatever follows: the answer's timing tells nothing.
    password_ok = verify_password(account.password_hash if account else None, body.password)

    def fail(reason: str) -> Unauthenticated:
        guard.throttle.fail(ip, now_s)
        if account is not None and reason in ("password", "totp"):
            guard.failed(account, ip, now=now, now_s=now_s)
        audit.append(
            db, at=now, action="sign_in_failed", actor=body.username,
            actor_account_id=account.id if account else None,
            details={"reason": reason, "client": ip},
        )  # fmt: skip
        db.commit()
        return Unauthenticated(t("auth.bad_credentials"))

    if account is None:
        raise fail("unknown_account")
    if guard.account_locked(account, ip, now=now, now_s=now_s):
        raise fail("locked")
    if not password_ok:
        raise fail("password")
    if not account.is_active:
        raise fail("disabled")
    mfa = False
    if account.totp_enabled and account.totp_secret:
        if not body.totp:
            # The password was right: ask for the code without counting a failure.
            raise Unauthenticated(t("auth.totp_needed"), field="totp")
        step = totp.match(
            account.totp_secret, body.totp, session_now(db).timestamp(), account.totp_last_step
        )
        if step is None:
            raise fail("totp")
        account.totp_last_step = step
        mfa = True
    guard.succeeded(account, ip)
    token = secrets.token_urlsafe(32)
    session = UserSession(
        token_hash=token_hash(token),
        account_id=account.id,
        csrf=secrets.token_urlsafe(24),
        mfa=mfa,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_s),
        client=ip[:100],
    )
    db.add(session)
    # A cookie the browser already had is dropped whatever it was (no fixation).
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        db.execute(delete(UserSession).where(UserSession.token_hash == token_hash(old)))
    audit.append(db, at=now, action="sign_in", actor=account.username,
                 actor_account_id=account.id, details={"client": ip, "mfa": mfa})  # fmt: skip
    secure = request.url.scheme == "https"
    max_age = settings.session_max_age_s
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True,
                        samesite="strict", secure=secure)  # fmt: skip
    response.set_cookie(CSRF_COOKIE, session.csrf, max_age=max_age, samesite="strict",
                        secure=secure)  # fmt: skip
    # Committed before the response leaves: the browser's next request must find it.
    db.commit()
    return _me(account, session, request)


async def _close_media(request: Request, account_id: int) -> None:
    await request.app.state.media.revoke(account_ids=[account_id])


@router.post("/logout", status_code=204)
def logout(principal: CurrentPrincipal, response: Response, db: DbSession) -> None:
    if principal.session:
        db.execute(delete(UserSession).where(UserSession.token_hash == principal.session))
    audit.append(db, at=session_now(db), action="sign_out", actor=principal.username,
                 actor_account_id=principal.account_id)  # fmt: skip
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.post("/logout-everywhere", status_code=204)
async def logout_everywhere(
    principal: CurrentPrincipal, request: Request, response: Response, db: DbSession
) -> None:
    """Close every session of this account and every live view it has open."""
    sign_out_everywhere(db, principal.account_id, principal.username, principal.username)
    db.commit()
    await _close_media(request, principal.account_id)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


def sign_out_everywhere(db: DbSession, account_id: int, actor: str, target: str) -> int:
    n = db.query(UserSession).filter(UserSession.account_id == account_id).delete()
    audit.append(db, at=session_now(db), action="sign_out_everywhere", actor=actor,
                 target=f"account:{target}", details={"sessions": int(n or 0)})  # fmt: skip
    return int(n or 0)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal, request: Request, db: DbSession) -> MeOut:
    account = db.get(Account, principal.account_id)
    assert account is not None
    session = db.get(UserSession, principal.session) if principal.session else None
    return _me(account, session, request)


# --- second factor ---------------------------------------------------------------


class TotpSetupOut(BaseModel):
    secret: str
    uri: str


class TotpConfirmIn(BaseModel):
    code: str = Field(min_length=6, max_length=10)


@router.post("/totp/setup", response_model=TotpSetupOut, responses=errors(422))
def totp_setup(principal: CurrentPrincipal, db: DbSession) -> TotpSetupOut:
    """Start enrolment: a new secret to scan; active only once a code confirms it."""
    account = db.get(Account, principal.account_id)
    assert account is not None
    if account.totp_enabled:
        raise InvalidArgument(t("auth.totp_already"), field="totp")
    account.totp_secret = totp.new_secret()
    return TotpSetupOut(
        secret=account.totp_secret, uri=totp.provisioning_uri(account.totp_secret, account.username)
    )


@router.post("/totp/confirm", response_model=MeOut)
def totp_confirm(
    body: TotpConfirmIn, principal: CurrentPrincipal, request: Request, db: DbSession
) -> MeOut:
    account = db.get(Account, principal.account_id)
    assert account is not None
    if not account.totp_secret:
        raise InvalidArgument(t("auth.totp_setup_first"), field="code")
    step = totp.match(
        account.totp_secret, body.code, session_now(db).timestamp(), account.totp_last_step
    )
    if step is None:
        raise InvalidArgument(t("auth.totp_bad_code"), field="code")
    account.totp_enabled = True
    account.totp_last_step = step
    session = db.get(UserSession, principal.session) if principal.session else None
    if session is not None:
        session.mfa = True
    audit.append(db, at=session_now(db), action="totp_enrolled", actor=account.username,
                 actor_account_id=account.id)  # fmt: skip
    return _me(account, session, request)


# --- API tokens --------------------------------------------------------------------


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(90, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str | None = None  # shown once, at creation


def _token_out(row: ApiToken, token: str | None = None) -> TokenOut:
    return TokenOut(id=row.id, name=row.name, created_at=row.created_at, expires_at=row.expires_at,
                    revoked_at=row.revoked_at, last_used_at=row.last_used_at, token=token)  # fmt: skip


def _session_only(principal: Principal) -> None:
    if principal.session is None:
        raise Unauthenticated(t("auth.session_required"))


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, principal: CurrentPrincipal, db: DbSession) -> TokenOut:
    _session_only(principal)
    now = session_now(db)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        account_id=principal.account_id, name=body.name, token_hash=token_hash(token),
        created_at=now, expires_at=now + timedelta(days=body.expires_days) if body.expires_days else None,
    )  # fmt: skip
    db.add(row)
    db.flush()
    audit.append(db, at=now, action="api_token_created", actor=principal.username,
                 actor_account_id=principal.account_id, target=f"token:{row.id}",
                 details={"name": body.name})  # fmt: skip
    return _token_out(row, token)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(principal: CurrentPrincipal, db: DbSession) -> list[TokenOut]:
    rows = db.scalars(select(ApiToken).where(ApiToken.account_id == principal.account_id))
    return [_token_out(r) for r in rows]


@router.delete("/tokens/{token_id}", status_code=204, responses=errors(404))
def revoke_token(token_id: PathId, principal: CurrentPrincipal, db: DbSession) -> None:
    _session_only(principal)
    row = db.get(ApiToken, token_id)
    if row is None or row.account_id != principal.account_id:
        raise NotFound(t("auth.token_not_found"))
    row.revoked_at = session_now(db)
    audit.append(db, at=row.revoked_at, action="api_token_revoked", actor=principal.username,
                 actor_account_id=principal.account_id, target=f"token:{row.id}")  # fmt: skip
