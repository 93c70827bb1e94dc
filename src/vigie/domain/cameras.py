"""Camera definitions: pure validation rules, no I/O."""

from __future__ import annotations

from urllib.parse import urlsplit

from vigie.base.errors import InvalidArgument

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
    except ValueError as exc:
        raise InvalidArgument(f"{field}: {url!r} is not a valid URL ({exc}).", field=field) from exc
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
