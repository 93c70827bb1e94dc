"""HTML pages, rendered from templates with the French message catalogue."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vigie.base.i18n import catalogue, t
from vigie.control.deps import SESSION_COOKIE

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=Path(str(resources.files("vigie.control") / "web" / "templates"))
)
templates.env.globals["t"] = t


def render(request: Request, name: str, **context: object) -> HTMLResponse:
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


@router.get("/api/i18n")
def messages() -> JSONResponse:
    """The French catalogue for the browser (no secrets in it)."""
    return JSONResponse(catalogue())
