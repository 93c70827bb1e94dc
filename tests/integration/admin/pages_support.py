"""Demo data and a running app for the admin page tests (HTML and browser)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser
from sqlalchemy.orm import Session, sessionmaker

from vigie.admin.models import ParticipationScenario
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.cli.demo import seed
from vigie.control.app import create_app
from vigie.storage.db import make_engine, make_sessionmaker, session_scope
from vigie.storage.migrate import upgrade

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "participation_scenario.json"
PROJECT = ("projet", "vigie-demo-projet")
MAYOR = ("maire.lille", "vigie-demo-maire")
SECRET = "pages-test-secret-" + "p" * 40
DURING_CAMPAIGN = datetime(2025, 2, 10, 10, 0, tzinfo=UTC)


def demo_database(folder: Path) -> sessionmaker[Session]:
    """What ``vigie demo`` seeds (95 communes, inventory, the 2024-2025 campaign
    with 50 answers, demo accounts) plus two saved participation scenarios."""
    url = f"sqlite:///{folder / 'vigie.db'}"
    upgrade(url)
    factory = make_sessionmaker(make_engine(url), SimulatedClock(DURING_CAMPAIGN))
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    other = spec | {
        "name": "Scénario B",
        "keys": {"fixed": "10", "cameras": "20", "hours": "20", "population": "50"},
    }
    with session_scope(factory) as db:
        seed(db, [])
        db.add(ParticipationScenario(name=spec["name"], spec=spec))
        db.add(ParticipationScenario(name=other["name"], spec=other))
    return factory


def demo_app(folder: Path, factory: sessionmaker[Session]) -> FastAPI:
    app = create_app(
        Settings(data_dir=folder, secret_key=SECRET, media_base_port=18700),
        sessions=factory,
        background=False,
        clock=SimulatedClock(DURING_CAMPAIGN),
    )
    return app


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def seeded_browser_site(
    folder: Path, cameras: list[tuple[str, str, str, str | None]], **seed_options: bool
) -> Iterator[tuple[str, sessionmaker[Session], Browser]]:
    """A fresh database seeded with ``cameras`` (``seed``), the app serving it on
    loopback and a headless Chromium: (base URL, session factory, browser)."""
    from playwright.sync_api import sync_playwright

    from tests.integration.browser.pages import CHROMIUM, CHROMIUM_ARGS

    url = f"sqlite:///{folder / 'vigie.db'}"
    upgrade(url)
    engine = make_engine(url)
    # Seeded on the app's clock: the rights it dates (authorisations, agréments) are
    # valid on the app's day, whatever the real date.
    factory = make_sessionmaker(engine, SimulatedClock(DURING_CAMPAIGN))
    with session_scope(factory) as db:
        seed(db, cameras, **seed_options)
    with live_server(demo_app(folder, factory)) as base_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield base_url, factory, browser
        finally:
            browser.close()
    engine.dispose()
