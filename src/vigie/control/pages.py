"""HTML pages, rendered from templates with the French message catalogue."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vigie.base.errors import VigieError
from vigie.base.i18n import catalogue, t
from vigie.control.deps import SESSION_COOKIE, current_principal
from vigie.domain import roles
from vigie.storage.db import session_scope

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=Path(str(resources.files("vigie.control") / "web" / "templates"))
)
templates.env.globals["t"] = t


# Who may edit privacy masks (some cameras for the mayor: the API decides per camera).
MASK_EDITOR_ROLES = (roles.METRO_ADMIN, roles.CMSU_SUPERVISOR, roles.COMMUNE_AUTHORITY)


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
    if "nav_masks" not in context:
        context["nav_masks"] = _signed_in_role(request) in MASK_EDITOR_ROLES
    return templates.TemplateResponse(request, name, context)


@router.get("/")
def index(request: Request) -> Response:
    return RedirectResponse("/live" if request.cookies.get(SESSION_COOKIE) else "/login")


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.get("/playback")
def playback_page(request: Request) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/playback")
    return render(request, "playback.html")


@router.get("/requisitions")
def requisitions_page(request: Request) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/requisitions")
    return render(request, "requisitions.html")


@router.get("/live")
def live_page(request: Request) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/live")
    return render(request, "live.html")


@router.get("/droits")
def rights_page(request: Request) -> Response:
    """Delegations, authorisations, agréments, audit export, own second factor;
    what each person sees and may do is decided by the API behind it."""
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/droits")
    return render(request, "rights.html")


@router.get("/masques")
def masks_page(request: Request) -> Response:
    """Privacy masks (CSI L251-3) of the cameras one may see: drawn over the
    camera's picture; editable where the API says so (``can_edit``)."""
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login?next=/masques")
    return render(request, "masks.html", nav_current="masks")


@router.get("/api/i18n")
def messages() -> JSONResponse:
    """The French catalogue for the browser (no secrets in it)."""
    return JSONResponse(catalogue())
