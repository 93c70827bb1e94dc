"""Camera service: validation and persistence. Thin routes call these."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigie.base.errors import InvalidArgument, NotFound
from vigie.base.i18n import t
from vigie.base.redact import split_credentials
from vigie.control.schemas import CameraIn, CameraOut, CameraPatch, SiteIn, StreamStatus
from vigie.domain.cameras import validate_coordinates, validate_stream_url
from vigie.storage.models import Camera, Commune, Site


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


def _clean_url(url: str, field: str) -> tuple[str, str | None, str | None]:
    return split_credentials(validate_stream_url(url, field))


def create_camera(*, db: Session, data: CameraIn) -> Camera:
    _check_refs(db, data.commune_insee, data.site_id)
    validate_coordinates(data.lon, data.lat)
    main_url, user, password = _clean_url(data.main_url, "main_url")
    sub_url = None
    if data.sub_url:
        sub_url, sub_user, sub_password = _clean_url(data.sub_url, "sub_url")
        user, password = user or sub_user, password or sub_password
    camera = Camera(
        name=data.name.strip(),
        commune_insee=data.commune_insee,
        site_id=data.site_id,
        main_url=main_url,
        sub_url=sub_url,
        username=data.username or user,
        password=data.password or password,
        lon=data.lon,
        lat=data.lat,
        kind=data.kind,
        description=data.description,
        enabled=data.enabled,
    )
    db.add(camera)
    db.flush()
    return camera


def update_camera(*, db: Session, camera_id: int, patch: CameraPatch) -> Camera:
    camera = get_camera(db=db, camera_id=camera_id)
    values = patch.model_dump(exclude_unset=True)
    commune = values.get("commune_insee", camera.commune_insee)
    site_id = values.get("site_id", camera.site_id)
    _check_refs(db, commune, site_id)
    validate_coordinates(values.get("lon", camera.lon), values.get("lat", camera.lat))
    for field in ("main_url", "sub_url"):
        if values.get(field):
            url, user, password = _clean_url(values[field], field)
            values[field] = url
            if user is not None:
                values.setdefault("username", user)
                values.setdefault("password", password)
        elif field == "main_url" and field in values:
            raise InvalidArgument("main_url: a camera needs a main stream URL.", field="main_url")
    for key, value in values.items():
        setattr(camera, key, value)
    db.flush()
    return camera


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
        has_credentials=bool(camera.username or camera.password),
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
