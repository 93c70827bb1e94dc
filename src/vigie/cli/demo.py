"""``vigie demo``: Vigie on the embedded default — SQLite, local disk, simulated
cameras on real MEL communes — with demo accounts printed on start-up.

Idempotent: a second run reuses the database and the encoded clips.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.log import setup_logging
from vigie.base.settings import PLACEHOLDER_SECRET, Settings
from vigie.domain import roles

# (username, password, role, communes it acts for, display name)
DEMO_ACCOUNTS = [
    ("operateur", "vigie-demo-operateur", roles.CMSU_OPERATOR, [], "Opératrice CMSU (démo)"),
    ("superviseur", "vigie-demo-superviseur", roles.CMSU_SUPERVISOR, [], "Superviseur CMSU (démo)"),
    ("admin", "vigie-demo-admin", roles.METRO_ADMIN, [], "Administrateur technique (démo)"),
    ("projet", "vigie-demo-projet", roles.PROJECT_TEAM, [], "Équipe projet MEL (démo)"),
    (
        "maire.lille",
        "vigie-demo-maire",
        roles.COMMUNE_AUTHORITY,
        ["59350"],
        "Maire de Lille (démo)",
    ),
]
# Four real MEL communes (INSEE code, name) for the simulated cameras.
DEMO_COMMUNES = [
    ("59350", "Lille"),
    ("59512", "Roubaix"),
    ("59599", "Tourcoing"),
    ("59009", "Villeneuve-d'Ascq"),
]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run Vigie with simulated cameras (demo)"
    )
    p.add_argument("--cameras", type=int, default=12, help="number of simulated cameras (≥ 12)")
    p.add_argument("--sim-port", type=int, default=8554, help="RTSP port of the simulator")
    p.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    p.set_defaults(func=_run)


def demo_environment(data_dir: Path) -> None:
    os.environ.setdefault("VIGIE_DEMO", "1")
    os.environ.setdefault("VIGIE_DATA_DIR", str(data_dir))
    os.environ.setdefault("VIGIE_SECRET_KEY", PLACEHOLDER_SECRET)


def seed(
    session: Session, cameras: list[tuple[str, str, str, str | None]], *, admin_data: bool = True
) -> None:
    """Communes, demo accounts, cameras (name, commune, main URL, sub URL), admin data."""
    from vigie.control.passwords import hash_password
    from vigie.domain.communes import load_reference_communes
    from vigie.storage.models import Account, AccountCommune, Camera
    from vigie.storage.repositories import upsert_communes

    upsert_communes(session, load_reference_communes())
    for username, password, role, communes, display in DEMO_ACCOUNTS:
        account = session.scalar(select(Account).where(Account.username == username))
        if account is None:
            account = Account(username=username, password_hash=hash_password(password), role=role)
            session.add(account)
        account.display_name, account.role, account.is_active = display, role, True
        account.communes = [AccountCommune(commune_insee=c) for c in communes]
    existing = {c.name: c for c in session.scalars(select(Camera))}
    for name, commune, main_url, sub_url in cameras:
        cam = existing.get(name)
        if cam is None:
            cam = Camera(name=name, commune_insee=commune, main_url=main_url)
            session.add(cam)
        cam.commune_insee, cam.main_url, cam.sub_url, cam.enabled = commune, main_url, sub_url, True
    session.flush()
    if admin_data:
        _seed_admin(session)


def _seed_admin(session: Session) -> None:
    """The call-for-interest data: inventory, catalogue, the 2024–2025 campaign."""
    from vigie.admin import catalogue, survey
    from vigie.admin.demo import demo_answers, demo_inventory
    from vigie.admin.inventory import import_inventory
    from vigie.admin.models import SurveyCampaign

    catalogue.ensure_default(db=session)
    if session.scalar(select(SurveyCampaign)) is not None:
        return
    import_inventory(db=session, sheets=demo_inventory())
    campaign = survey.create_campaign(
        db=session,
        name="AMI CMSU 2024-2025",
        opens_on=date(2024, 12, 23),
        closes_on=date(2025, 2, 17),
    )
    during = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
    for code, answers in demo_answers().items():
        survey.submit(
            db=session,
            campaign_id=campaign.id,
            commune=code,
            answers=answers,
            account_id=None,
            now=during,
        )


def _run(args: argparse.Namespace) -> int:
    from vigie.cli.serve import serve
    from vigie.sim.runner import SimServer, demo_cameras
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope
    from vigie.storage.migrate import upgrade

    if args.cameras < 12:
        raise SystemExit("vigie demo: --cameras must be at least 12")
    demo_environment(args.data_dir)
    settings = Settings()
    setup_logging(settings.log_level, "vigie")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)

    sim_cams = demo_cameras([name for _, name in DEMO_COMMUNES], count=args.cameras)
    # Make the H.265 camera H.265 on both streams, so its tile shows the message.
    sim_cams = [
        dataclasses.replace(c, sub=dataclasses.replace(c.sub, codec="hevc", profile="main"))
        if c.main.codec == "hevc" and c.sub is not None
        else c
        for c in sim_cams
    ]
    print(
        f"Préparation de {len(sim_cams)} caméras simulées (encodage des clips au premier lancement)…"
    )
    sim = SimServer(sim_cams, port=args.sim_port, cache_dir=Path(".cache/sim"))
    sim.start()
    try:
        rows = []
        for i, cam in enumerate(sim_cams):
            code = DEMO_COMMUNES[i % len(DEMO_COMMUNES)][0]
            rows.append(
                (
                    cam.name,
                    code,
                    sim.url(cam.id, "main"),
                    sim.url(cam.id, "sub") if cam.sub else None,
                )
            )
        engine = make_engine(settings.resolved_database_url)
        with session_scope(make_sessionmaker(engine)) as session:
            seed(session, rows)
        engine.dispose()
        url = f"http://{settings.host}:{settings.port}/"
        lines = [
            "",
            "Vigie (démo) est prêt.",
            f"  Adresse : {url}",
            "  Comptes de démonstration (identifiant / mot de passe) :",
        ]
        for username, password, _role, _, display in DEMO_ACCOUNTS:
            lines.append(f"    {username:<12} / {password:<24} {display}")
        lines += [
            f"  Caméras simulées : {len(sim_cams)} sur {len(DEMO_COMMUNES)} communes (RTSP port {sim.port})",
            "  Ctrl-C pour arrêter.",
            "",
        ]
        serve(settings, banner="\n".join(lines))
    finally:
        sim.close()
    return 0
