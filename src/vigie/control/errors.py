"""The one place where error kinds become HTTP statuses."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from vigie.base.errors import VigieError
from vigie.base.i18n import t

STATUS_BY_KIND = {
    "resource_exhausted": 429,
    "not_found": 404,
    "permission_denied": 403,
    "unauthenticated": 401,
    "invalid_argument": 422,
    "failed_precondition": 409,
    "unavailable": 503,
    "internal": 500,
}


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API): errors become pages, not JSON."""
    return (
        request.method == "GET"
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


class _Framework(VigieError):
    """An error the framework raised, in our terms (kind given per instance)."""

    def __init__(self, message: str, *, kind: str = "invalid_argument", field: str | None = None):
        super().__init__(message, field=field)
        self.kind = kind


def _framework_error(exc: HTTPException, request: Request) -> VigieError:
    """The error the framework raised itself (no route, wrong method, unreadable
    body) as one of ours, so that every error answer has the same body."""
    if exc.status_code == 404:
        return _Framework(t("api.no_such_path", path=request.url.path), kind="not_found")
    if exc.status_code == 405:
        allowed = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow", "")
        return _Framework(t("api.method_not_allowed", method=request.method, allowed=allowed))
    if exc.status_code == 400:
        return _Framework(t("api.unreadable_body"), field="body")
    return _Framework(str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VigieError)
    async def _vigie_error(request: Request, exc: VigieError) -> Response:
        status = STATUS_BY_KIND.get(exc.kind, 500)
        if wants_page(request):
            if status == 401:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            from vigie.control.pages import render  # the templates need the app's package

            page = render(request, "error.html", status=status, message=exc.message)
            page.status_code = status
            return page
        return JSONResponse(status_code=status, content={"error": exc.to_dict()})

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        """Keeps the framework's status (400, 404, 405) and headers (``Allow``)."""
        error = _framework_error(exc, request)
        if wants_page(request) and exc.status_code == 404:
            return await _vigie_error(request, error)
        return JSONResponse(
            status_code=exc.status_code, content={"error": error.to_dict()}, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = (
            f"{field}: {first.get('msg', 'invalid value')}"
            if field
            else str(first.get("msg", "invalid input"))
        )
        body: dict[str, object] = {
            "kind": "invalid_argument",
            "message": message,
            "details": [
                {
                    "field": ".".join(
                        str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")
                    ),
                    "message": e.get("msg", ""),
                }
                for e in errors
            ],
        }
        if field:
            body["field"] = field
        return JSONResponse(status_code=422, content={"error": body})
