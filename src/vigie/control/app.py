"""The control plane: a FastAPI application (OpenAPI at /openapi.json, docs at
/api/docs). It reads and writes the database, checks access, issues tickets
and drives the media processes; it never touches video itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from swagger_ui_bundle import swagger_ui_path

from vigie import __version__
from vigie.base.clock import Clock, RealClock
from vigie.base.settings import Settings
from vigie.control import pages
from vigie.control.access import AccessPolicy
from vigie.control.api import auth, core
from vigie.control.authority import AuthorityPolicy, SessionWatch
from vigie.control.continuity_wiring import continuity_monitor
from vigie.control.deps import audit_key
from vigie.control.errors import install_error_handlers
from vigie.control.export_jobs import ExportJobs
from vigie.control.media_directory import MediaDirectory
from vigie.control.navigation import page_routes
from vigie.control.openapi import install_openapi
from vigie.control.security_headers import SecurityHeaders
from vigie.storage import audit
from vigie.storage.db import make_engine, make_sessionmaker, use_clock
from vigie.storage.models import Camera

log = logging.getLogger(__name__)

STATS_EVERY_S = 2.0
RECHECK_EVERY_S = 1.0  # open sessions whose right ended close within ~2 s
PUSH_EVERY_S = 10.0

# Routers of other domains register here (module path, attribute name).
EXTRA_ROUTERS: list[tuple[str, str]] = [
    ("vigie.control.api.authority", "router"),
    ("vigie.control.api.admin_finance", "router"),
    ("vigie.control.api.admin_inventory", "router"),
    ("vigie.control.api.admin_surveys", "router"),
    ("vigie.control.api.admin_catalogue", "router"),
    ("vigie.control.api.admin_reports", "router"),
    ("vigie.control.admin_pages", "router"),
    ("vigie.control.api.recording", "router"),
    ("vigie.control.api.masks", "router"),
    ("vigie.control.api.continuity", "router"),
    ("vigie.control.continuity_pages", "router"),
]


def static_dir() -> Path:
    return Path(str(resources.files("vigie.control") / "web" / "static"))


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    media: MediaDirectory | None = None,
    access_policy: AccessPolicy | None = None,
    background: bool = True,
    clock: Clock | None = None,
) -> FastAPI:
    """The control plane. ``clock`` is the one source of time of the whole
    application (routes, background rounds, row stamps): real unless given."""
    clock = clock or RealClock()
    if sessions is None:
        sessions = make_sessionmaker(make_engine(settings.resolved_database_url), clock)
    else:
        use_clock(sessions, clock)
    directory = media or MediaDirectory(settings)

    def _load_cameras() -> list[Camera]:
        with sessions() as db:
            return list(db.query(Camera))

    async def sync_media() -> None:
        cams = await asyncio.to_thread(_load_cameras)
        await directory.push(cams)
        await directory.refresh_stats()

    watch = SessionWatch(sessions, directory, settings, clock)

    async def _watch_rights() -> None:
        while True:
            try:
                await watch.run_once()
            except Exception:
                log.exception("re-checking open sessions failed")
            await asyncio.sleep(RECHECK_EVERY_S)

    monitor = continuity_monitor(settings)

    def _monitor_round() -> None:
        with sessions() as db:
            monitor.tick(
                db,
                now=clock.now(),
                now_s=clock.monotonic(),
                streams=directory.last_stats,
                processes=dict(directory.last_process),
                process_errors=dict(directory.node_errors),
                node_count=len(directory.nodes),
            )

    async def _background() -> None:
        last_push = -PUSH_EVERY_S
        while True:
            try:
                if clock.monotonic() - last_push >= PUSH_EVERY_S or directory.needs_push():
                    last_push = clock.monotonic()
                    await sync_media()
                elif await directory.poll(lambda: asyncio.to_thread(_load_cameras)):
                    last_push = clock.monotonic()  # a changed stream list, pushed again at once
            except Exception:
                log.exception("media synchronisation failed")
            try:
                await asyncio.to_thread(_monitor_round)
            except Exception:
                log.exception("health monitor round failed")
            await asyncio.sleep(STATS_EVERY_S)

    def _deliver_round() -> None:
        with sessions() as db:
            monitor.deliver(db, now=clock.now())

    async def _deliveries() -> None:
        while True:
            try:
                await asyncio.to_thread(_deliver_round)
            except Exception:
                log.exception("notification delivery failed")
            await asyncio.sleep(STATS_EVERY_S)

    export_jobs = ExportJobs(sessions, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = (
            [
                asyncio.create_task(_background()),
                asyncio.create_task(_watch_rights()),
                asyncio.create_task(_deliveries()),
            ]
            if background
            else []
        )
        recording = None
        if background:  # exports cut short by a restart: nothing refers to them
            await asyncio.to_thread(export_jobs.remove_orphans, settings.data_dir / "exports")
        if background:  # index and purge recordings in a thread of their own
            from vigie.recording.service import RecordingService

            def _quota_full(communes: set[str]) -> None:
                directory.recording_stopped_communes = communes  # sent at the next push

            recording = RecordingService(
                sessions, settings.data_dir / "recordings", on_quota_full=_quota_full, clock=clock
            )
            recording.start()
        yield
        export_jobs.shutdown()
        if recording is not None:
            recording.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Vigie",
        version=__version__,
        description="Centre de supervision urbaine métropolitain — API",
        docs_url=None,  # /api/docs is served from local files (pages.api_docs)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.sessions = sessions
    app.state.media = directory
    app.state.access_policy = access_policy or AuthorityPolicy(settings, clock)
    app.state.session_watch = watch
    app.state.export_jobs = export_jobs
    audit.set_key(audit_key(settings))
    sync: Callable[[], Awaitable[None]] = sync_media
    app.state.sync_media = sync
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders, media=directory)
    import importlib

    routers: list[APIRouter] = [auth.router, core.router]
    routers += [getattr(importlib.import_module(m), attr) for m, attr in EXTRA_ROUTERS]
    routers.append(pages.router)
    for router in routers:
        app.include_router(router)
    app.state.page_routes = page_routes(routers)  # where signing in may lead
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    app.mount(
        "/api/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets"
    )
    install_openapi(app)
    return app
