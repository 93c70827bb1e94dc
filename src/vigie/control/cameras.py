"""Camera service: validation and persistence. Thin routes call these."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.base.errors import FailedPrecondition, InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.base.redact import UrlCredentials, join_credentials, strip_credentials
from vigie.base.settings import Settings
from vigie.control.schemas import CameraIn, CameraOut, CameraPatch, SiteIn, StreamStatus
from vigie.domain.cameras import CameraSecrets, validate_coordinates, validate_stream_url
from vigie.domain.secretbox import SecretBox
from vigie.storage.models import Camera, Commune, Site

log = logging.getLogger(__name__)


def _check_refs(db: Session, commune_insee: str, site_id: int | None) -> None:
    if db.get(Commune, commune_insee) is None:
        raise InvalidArgument(
            "commune_insee: " + t("commune.unknown", code=commune_insee), field="commune_insee"
        )
    if site_id is not None:
        site = db.get(Site, site_id)
        if site is None:
            raise InvalidArgument("site_id: " + t("site.unknown", site_id=site_id), field="site_id")
        if site.commune_insee != commune_insee:
            raise InvalidArgument(
                f"site_id: site {site_id} belongs to commune {site.commune_insee}, not {commune_insee}.",
                field="site_id",
            )


def secret_box(settings: Settings) -> SecretBox:
    """The key that seals camera secrets: derived from VIGIE_SECRET_KEY, never stored."""
    return SecretBox.for_camera_secrets(settings.secret_key)


def _clean_url(url: str, field: str) -> tuple[str, UrlCredentials]:
    """The URL as stored (no userinfo, no credential parameters), and what was lifted."""
    return strip_credentials(validate_stream_url(url, field))


def create_camera(*, db: Session, data: CameraIn, box: SecretBox) -> Camera:
    _check_refs(db, data.commune_insee, data.site_id)
    validate_coordinates(data.lon, data.lat)
    main_url, main = _clean_url(data.main_url, "main_url")
    sub_url, sub = _clean_url(data.sub_url, "sub_url") if data.sub_url else (None, UrlCredentials())
    secrets = CameraSecrets(
        data.password or main.password or sub.password, {"main": main.query, "sub": sub.query}
    )
    camera = Camera(
        name=data.name.strip(),
        commune_insee=data.commune_insee,
        site_id=data.site_id,
        main_url=main_url,
        sub_url=sub_url,
        username=data.username or main.username or sub.username,
        secrets_sealed=secrets.seal(box),
        lon=data.lon,
        lat=data.lat,
        kind=data.kind,
        description=data.description,
        enabled=data.enabled,
    )
    db.add(camera)
    db.flush()
    return camera


def update_camera(*, db: Session, camera_id: int, patch: CameraPatch, box: SecretBox) -> Camera:
    camera = get_camera(db=db, camera_id=camera_id)
    values = patch.model_dump(exclude_unset=True)
    commune = values.get("commune_insee", camera.commune_insee)
    site_id = values.get("site_id", camera.site_id)
    _check_refs(db, commune, site_id)
    validate_coordinates(values.get("lon", camera.lon), values.get("lat", camera.lat))
    stored = CameraSecrets.open(box, camera.secrets_sealed)
    password, query = stored.password, dict(stored.query)
    for kind, field in (("main", "main_url"), ("sub", "sub_url")):
        if values.get(field):
            url, lifted = _clean_url(values[field], field)
            values[field] = url
            if lifted.username is not None:
                values.setdefault("username", lifted.username)
                if "password" not in values:
                    password = lifted.password
            if lifted.query:  # a URL given without them keeps the stored ones
                query[kind] = lifted.query
        elif field == "main_url" and field in values:
            raise InvalidArgument("main_url: a camera needs a main stream URL.", field="main_url")
        elif field in values:
            values[field] = None
            query.pop(kind, None)
    if "password" in values:
        password = values.pop("password") or None
    secrets = CameraSecrets(password, query)
    if secrets != stored:
        camera.secrets_sealed = secrets.seal(box)
    for key, value in values.items():
        setattr(camera, key, value)
    db.flush()
    return camera


def media_url(camera: Camera, kind: str, box: SecretBox) -> str | None:
    """The stream URL with its credentials put back: for the media plane only."""
    url = camera.main_url if kind == "main" else camera.sub_url
    if not url:
        return None
    try:
        secrets = CameraSecrets.open(box, camera.secrets_sealed)
    except FailedPrecondition as exc:  # sealed under another key: the camera says 401
        log.error("camera %d: credentials not sent to the media plane: %s", camera.id, exc)
        secrets = CameraSecrets()
    return join_credentials(url, camera.username, secrets.password, secrets.query.get(kind, ()))


def get_camera(*, db: Session, camera_id: int) -> Camera:
    camera = db.get(Camera, camera_id)
    if camera is None:
        raise NotFound(t("camera.not_found"))
    return camera


def list_cameras(
    *, db: Session, commune: str | None = None, ids: set[int] | None = None
) -> list[Camera]:
    q = select(Camera).order_by(Camera.commune_insee, Camera.name)
    if commune:
        q = q.where(Camera.commune_insee == commune)
    cams = list(db.scalars(q))
    return cams if ids is None else [c for c in cams if c.id in ids]


def camera_counts(*, db: Session) -> dict[str, int]:
    rows = db.execute(select(Camera.commune_insee, func.count()).group_by(Camera.commune_insee))
    return {code: n for code, n in rows}


def to_out(camera: Camera, status: dict[str, StreamStatus]) -> CameraOut:
    return CameraOut(
        id=camera.id,
        name=camera.name,
        commune_insee=camera.commune_insee,
        commune_name=camera.commune.name,
        site_id=camera.site_id,
        main_url=camera.main_url,
        sub_url=camera.sub_url,
        has_credentials=bool(camera.username or camera.secrets_sealed),
        lon=camera.lon,
        lat=camera.lat,
        kind=camera.kind,
        description=camera.description,
        enabled=camera.enabled,
        created_at=camera.created_at,
        status=status,
        privacy_masks=list(camera.privacy_masks or []),
    )


def create_site(*, db: Session, data: SiteIn) -> Site:
    _check_refs(db, data.commune_insee, None)
    validate_coordinates(data.lon, data.lat)
    site = Site(
        commune_insee=data.commune_insee,
        name=data.name.strip(),
        address=data.address,
        lon=data.lon,
        lat=data.lat,
    )
    db.add(site)
    db.flush()
    return site


def list_sites(*, db: Session, commune: str | None = None) -> list[Site]:
    q = select(Site).order_by(Site.commune_insee, Site.name)
    if commune:
        q = q.where(Site.commune_insee == commune)
    return list(db.scalars(q))
