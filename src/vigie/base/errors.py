"""The one set of error kinds used across Vigie.

Every layer raises these; the web layer maps them to HTTP statuses in one
place (``vigie.control.errors``). Each message says what was wrong and what to
do about it. ``field`` names the input at fault when there is one.
"""

from __future__ import annotations


class VigieError(Exception):
    """Base of every error kind. ``message`` is shown to the user."""

    kind = "internal"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class NotFound(VigieError):
    kind = "not_found"


class PermissionDenied(VigieError):
    kind = "permission_denied"


class Unauthenticated(VigieError):
    kind = "unauthenticated"


class InvalidArgument(VigieError):
    kind = "invalid_argument"


class FailedPrecondition(VigieError):
    kind = "failed_precondition"


class Unavailable(VigieError):
    kind = "unavailable"


class ResourceExhausted(VigieError):
    """Too many attempts or requests: wait, then retry."""

    kind = "resource_exhausted"
