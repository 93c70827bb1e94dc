"""HTML pages, rendered from templates with the French message catalogue."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vigie.base.errors import VigieError
from vigie.base.i18n import catalogue, t
from vigie.control.deps import SESSION_COOKIE, Principal, current_principal, get_settings
from vigie.control.navigation import home_for, nav_for, page_guard, safe_next
from vigie.storage.db import session_scope

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=Path(str(resources.files("vigie.control") / "web" / "templates"))
)
templates.env.globals["t"] = t


def _signed_in_role(request: Request) -> str | None:
    """The role of the session's account, for the navigation only (every
    action is checked again by the API); None when not signed in."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    with session_scope(request.app.state.sessions) as db:
        try:
            return current_principal(request, db, request.app.state.clock).role
        except VigieError:
            return None


def render(request: Request, name: str, **context: object) -> HTMLResponse:
    """A page with the navigation of whoever is signed in (``navigation.nav_for``)."""
    if "nav" not in context:
        principal = context.get("principal")
        role = principal.role if isinstance(principal, Principal) else _signed_in_role(request)
        context["nav"] = nav_for(role, get_settings(request), request.url.path)
    return templates.TemplateResponse(request, name, context)


@router.get("/")
def index(request: Request) -> Response:
    """Where each role starts: the first page it may use; signed out, the sign-in page."""
    role = _signed_in_role(request)
    return RedirectResponse(home_for(role, get_settings(request)) if role else "/login")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form; ``next`` (where to go then) only if it is a page of this
    application (``navigation.safe_next``), else the role's first page."""
    return render(
        request, "login.html", next_path=safe_next(next, request.app.state.page_routes) or "/"
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(
        Path(str(resources.files("vigie.control") / "web" / "static" / "favicon.svg")),
        media_type="image/svg+xml",
    )


@router.get("/playback")
def playback_page(
    request: Request, _p: Annotated[Principal, Depends(page_guard("playback"))]
) -> Response:
    return render(request, "playback.html")


@router.get("/requisitions")
def requisitions_page(
    request: Request, _p: Annotated[Principal, Depends(page_guard("requisitions"))]
) -> Response:
    return render(request, "requisitions.html")


@router.get("/live")
def live_page(request: Request, _p: Annotated[Principal, Depends(page_guard("live"))]) -> Response:
    return render(request, "live.html")


@router.get("/droits")
def rights_page(
    request: Request, _p: Annotated[Principal, Depends(page_guard("rights"))]
) -> Response:
    """Delegations, authorisations, agréments, audit export, own second factor;
    what each person sees and may do is decided by the API behind it."""
    return render(request, "rights.html")


@router.get("/masques")
def masks_page(
    request: Request, _p: Annotated[Principal, Depends(page_guard("masks"))]
) -> Response:
    """Privacy masks (CSI L251-3) of the cameras one may see: drawn over the
    camera's picture; editable where the API says so (``can_edit``)."""
    return render(request, "masks.html")


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI on /openapi.json, from files the application serves itself."""
    return templates.TemplateResponse(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url}
    )


@router.get("/api/i18n")
def messages() -> JSONResponse:
    """The French catalogue for the browser (no secrets in it)."""
    return JSONResponse(catalogue())
