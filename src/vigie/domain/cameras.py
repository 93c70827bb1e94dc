"""Camera definitions: pure validation rules, no I/O."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from vigie.base.errors import InvalidArgument
from vigie.base.redact import redact_url
from vigie.domain.secretbox import SecretBox

ALLOWED_SCHEMES = ("rtsp", "rtsps")
CAMERA_KINDS = ("fixed", "ptz", "multisensor")


def validate_stream_url(url: str, field: str) -> str:
    """Check an RTSP URL; return it stripped. Raise ``InvalidArgument`` naming ``field``."""
    url = url.strip()
    if not url:
        raise InvalidArgument(
            f"{field}: the stream URL is empty; give rtsp://host[:port]/path.", field=field
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # its text may quote a piece of the password: not shown
        raise InvalidArgument(
            f"{field}: {redact_url(url)!r} is not a valid URL (unreadable host or port); "
            "percent-encode '@', ':' and '/' inside a user name or password (%40, %3A, %2F).",
            field=field,
        ) from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise InvalidArgument(
            f"{field}: scheme {parts.scheme or '(none)'!r} is not supported; "
            "use rtsp:// or rtsps:// (e.g. rtsp://192.0.2.10:554/stream1).",
            field=field,
        )
    if not parts.hostname:
        raise InvalidArgument(
            f"{field}: the URL has no host; e.g. rtsp://192.0.2.10:554/stream1.", field=field
        )
    if port is not None and not (1 <= port <= 65535):
        raise InvalidArgument(f"{field}: port {port} is out of range 1–65535.", field=field)
    if "@" in parts.path:
        raise InvalidArgument(
            f"{field}: '@' after the host: percent-encode '@' and '/' inside a user name or "
            "password (%40, %2F), e.g. rtsp://user:p%40ss@192.0.2.10/stream1.",
            field=field,
        )
    if any(c.isspace() for c in url):
        raise InvalidArgument(
            f"{field}: the URL contains spaces; percent-encode them (%20).", field=field
        )
    return url


def validate_coordinates(lon: float | None, lat: float | None) -> None:
    if (lon is None) != (lat is None):
        raise InvalidArgument(
            "lon/lat: give both coordinates or neither.", field="lon" if lon is None else "lat"
        )
    if lon is not None and not (-180.0 <= lon <= 180.0):
        raise InvalidArgument(f"lon: {lon} is outside −180…180 degrees.", field="lon")
    if lat is not None and not (-90.0 <= lat <= 90.0):
        raise InvalidArgument(f"lat: {lat} is outside −90…90 degrees.", field="lat")


STREAM_KINDS = ("main", "sub")
SECRETS_CONTEXT = "camera-secrets"


@dataclasses.dataclass(frozen=True, slots=True)
class CameraSecrets:
    """A camera's stored secrets: the password, and per stream (``main``,
    ``sub``) the credential parameters lifted from its URL's query string,
    verbatim (``password=x%40y``), appended again for the media plane only."""

    password: str | None = None
    query: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:  # one form for "no parameter": absent
        object.__setattr__(self, "query", {k: tuple(v) for k, v in self.query.items() if v})

    def __bool__(self) -> bool:
        return bool(self.password) or bool(self.query)

    def seal(self, box: SecretBox) -> str | None:
        """What goes into ``cameras.secrets_sealed`` (None: no secret)."""
        if not self:
            return None
        doc = {"password": self.password, "query": {k: list(v) for k, v in self.query.items()}}
        return box.seal(json.dumps(doc, sort_keys=True), context=SECRETS_CONTEXT)

    @staticmethod
    def open(box: SecretBox, sealed: str | None) -> CameraSecrets:
        if not sealed:
            return CameraSecrets()
        doc = json.loads(box.open(sealed, context=SECRETS_CONTEXT))
        query = {str(k): tuple(str(p) for p in v) for k, v in dict(doc.get("query") or {}).items()}
        password = doc.get("password")
        return CameraSecrets(None if password is None else str(password), query)
