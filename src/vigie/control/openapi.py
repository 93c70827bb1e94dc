"""The OpenAPI document (``/openapi.json``): FastAPI's, completed in one place
with what the framework answers on every route, whatever the route's code:

* 400 on every operation that reads a body (the framework cannot read it);
* 422 with the application's error body (``ErrorOut``), where FastAPI
  would document its own ``HTTPValidationError``, which the application
  never sends (``errors.py`` answers validation errors with ``ErrorOut``).

The rest is declared where it happens: 401 and 403 by every router whose
routes need a signed-in account (``responses=errors(401, 403)``), and the
errors a route's own code raises (404, 409, 429…) on the route. See
``docs/design/api.md``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vigie.control.schemas import ERROR_DESCRIPTIONS, ErrorOut

SCHEMAS = "#/components/schemas/"
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _error(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": SCHEMAS + "ErrorOut"}}},
    }


def build_document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template=SCHEMAS + "{model}")
    for name, sub in error.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault("ErrorOut", error)
    for path_item in doc.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = _error(422)
            if "requestBody" in operation:
                responses.setdefault("400", _error(400))
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve ``build_document`` at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
