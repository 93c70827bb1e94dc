"""The one place where error kinds become HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
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


# pydantic's error types, grouped under the French message that explains them
# (``api.validation.*``) and the context value that message shows.
_VALIDATION: dict[str, tuple[str, str | None]] = {
    "missing": ("missing", None),
    "int_parsing": ("int", None), "int_type": ("int", None), "int_from_float": ("int", None),
    "float_parsing": ("float", None), "float_type": ("float", None),
    "bool_parsing": ("bool", None), "bool_type": ("bool", None),
    "string_type": ("string", None), "list_type": ("list", None),
    "dict_type": ("object", None), "model_type": ("object", None),
    "model_attributes_type": ("object", None),
    "greater_than_equal": ("ge", "ge"), "greater_than": ("gt", "gt"),
    "less_than_equal": ("le", "le"), "less_than": ("lt", "lt"),
    "string_too_short": ("too_short", "min_length"), "too_short": ("too_short", "min_length"),
    "string_too_long": ("too_long", "max_length"), "too_long": ("too_long", "max_length"),
    "string_pattern_mismatch": ("pattern", "pattern"),
    "literal_error": ("choice", "expected"), "enum": ("choice", "expected"),
    "datetime_parsing": ("datetime", None), "datetime_type": ("datetime", None),
    "datetime_from_date_parsing": ("datetime", None),
    "date_parsing": ("date", None), "date_type": ("date", None),
    "date_from_datetime_parsing": ("date", None), "date_from_datetime_inexact": ("date", None),
    "timezone_aware": ("timezone", None),
    "extra_forbidden": ("extra", None),
    "json_invalid": ("json", "error"),
    "value_error": ("value", None), "assertion_error": ("value", None),
}  # fmt: skip
_OUTSIDE_FIELDS = ("body", "query", "path", "header", "cookie")


def _field(error: Mapping[str, Any]) -> str | None:
    loc = [str(p) for p in error.get("loc", ()) if p not in _OUTSIDE_FIELDS]
    return ".".join(loc) or None


def validation_message(error: Mapping[str, Any]) -> str:
    """One of pydantic's errors in French, naming the field and what to give."""
    key, ctx_name = _VALIDATION.get(str(error.get("type")), ("other", None))
    ctx = error.get("ctx") or {}
    shown = str(error.get("input", ""))
    detail = (
        str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    )
    return t(
        f"api.validation.{key}",
        field=_field(error) or "requête",
        input=shown if len(shown) <= 60 else shown[:57] + "…",
        limit=ctx.get(ctx_name, "") if ctx_name else "",
        pattern=ctx.get("pattern", ""),
        expected=ctx.get("expected", ""),
        detail=ctx.get("error", detail) if key == "json" else detail,
    )


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
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": _field(e) or "", "message": validation_message(e)} for e in exc.errors()
        ]
        first = details[0] if details else {"field": "", "message": t("api.unreadable_body")}
        if wants_page(request):
            from vigie.control.pages import render

            page = render(request, "error.html", status=422, message=first["message"])
            page.status_code = 422
            return page
        body: dict[str, object] = {
            "kind": "invalid_argument",
            "message": first["message"],
            "details": details,
        }
        if first["field"]:
            body["field"] = first["field"]
        return JSONResponse(status_code=422, content={"error": body})
