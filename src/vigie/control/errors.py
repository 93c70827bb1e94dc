"""The one place where error kinds become HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from vigie.base.errors import VigieError

STATUS_BY_KIND = {
    "not_found": 404,
    "permission_denied": 403,
    "unauthenticated": 401,
    "invalid_argument": 422,
    "failed_precondition": 409,
    "unavailable": 503,
    "internal": 500,
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VigieError)
    async def _vigie_error(_request: Request, exc: VigieError) -> JSONResponse:
        return JSONResponse(
            status_code=STATUS_BY_KIND.get(exc.kind, 500), content={"error": exc.to_dict()}
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
