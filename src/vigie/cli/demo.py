"""``vigie demo``: Vigie on the embedded default — SQLite, local disk, simulated
cameras on real MEL communes — with demo accounts printed on start-up.

Idempotent: a second run reuses the database and the encoded clips.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.clock import paris_today
from vigie.base.errors import FailedPrecondition
from vigie.base.i18n import t
from vigie.base.log import setup_logging
from vigie.base.settings import DEMO_SECRET_FILE, PLACEHOLDER_SECRET, Settings
from vigie.domain import roles
from vigie.storage.db import session_clock

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
    if os.environ.get("VIGIE_SECRET_KEY", PLACEHOLDER_SECRET) == PLACEHOLDER_SECRET:
        os.environ["VIGIE_SECRET_KEY"] = demo_secret(Path(os.environ["VIGIE_DATA_DIR"]))
    # Demo only: no second factor to enrol before seeing images (production default: required).
    os.environ.setdefault("VIGIE_TOTP_REQUIRED", "0")


def demo_secret(data_dir: Path) -> str:
    """The demo's secret key: read from ``data_dir``, or made there at the first
    start (random, 64 hex digits, file mode 0600, written whole or not at all)."""
    path = data_dir / DEMO_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{DEMO_SECRET_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # fails if another start made one meanwhile: that one wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    os.chmod(path, 0o600)
    secret = path.read_text(encoding="ascii", errors="replace").strip()
    if len(secret) < 32 or secret == PLACEHOLDER_SECRET:
        raise FailedPrecondition(t("demo.error.bad_secret", path=path))
    return secret


DEMO_MASK = {
    "label": "Fenêtres de l'immeuble voisin (démo)",
    "points": [[0.72, 0.06], [0.97, 0.06], [0.97, 0.38], [0.72, 0.38]],
}


def seed(
    session: Session,
    cameras: list[tuple[str, str, str, str | None]],
    *,
    admin_data: bool = True,
    lille_nights_only: bool = True,
    demo_mask: bool = False,
) -> None:
    """Communes, demo accounts, cameras (name, commune, main URL, sub URL), admin
    data; ``demo_mask``: a privacy mask on the first camera (live, playback,
    snapshots and exports of the demo show it; ``/masques`` edits it)."""
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
    if demo_mask:  # CSI L251-3: the demo shows one masked camera
        first = session.scalar(select(Camera).order_by(Camera.id))
        if first is not None and not first.privacy_masks:
            first.privacy_masks = [DEMO_MASK]
    _seed_rights(session, lille_nights_only)
    if admin_data:
        _seed_admin(session)


# Lille hands its cameras to the centre on weeknights and at weekends; the other
# demo communes around the clock.
NIGHTS_AND_WEEKENDS = [{"weekday": d, "start": "20:00", "end": "08:00"} for d in range(5)] + [
    {"weekday": d, "start": "00:00", "end": "24:00"} for d in (5, 6)
]
ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def _seed_rights(session: Session, lille_nights_only: bool) -> None:
    """Prefectoral authorisations, agréments of the centre's operators, delegations."""
    from vigie.control.authority import five_years_after
    from vigie.storage.models import (
        Account,
        Agrement,
        AgrementAuthorisation,
        Authorisation,
        Camera,
        Delegation,
    )

    today = paris_today(session_clock(session))
    issued = today.replace(year=today.year - 1)
    auth_ids = []
    for code, _name in DEMO_COMMUNES:
        number = f"DEMO-{code}-VP"
        auth = session.scalar(select(Authorisation).where(Authorisation.number == number))
        if auth is None:
            auth = Authorisation(
                commune_insee=code, number=number, issued_on=issued,
                expires_on=five_years_after(issued), purposes=["sécurité des personnes et des biens"],
                retention_min_days=0, retention_max_days=14 if code == "59350" else 30,
                recipients=["police municipale", "police nationale"],
            )  # fmt: skip
            session.add(auth)
            session.flush()
        auth_ids.append(auth.id)
        for cam in session.scalars(select(Camera).where(Camera.commune_insee == code)):
            cam.authorisation_id = auth.id
        if session.scalar(select(Delegation).where(Delegation.commune_insee == code)) is None:
            nights = lille_nights_only and code == "59350"
            session.add(
                Delegation(
                    commune_insee=code,
                    grantee="cmsu",
                    label="Nuits et week-ends" if nights else "24 h/24",
                    windows=NIGHTS_AND_WEEKENDS if nights else ALL_WEEK,
                    # In force since the authorisation: the centre sees recorded images
                    # only of periods delegated to it (docs/design/authority.md).
                    created_at=datetime(issued.year, issued.month, issued.day, tzinfo=UTC),
                )
            )
    for username in ("operateur", "superviseur"):
        account = session.scalar(select(Account).where(Account.username == username))
        assert account is not None
        ref = f"DEMO-AGR-{username.upper()}"
        if session.scalar(select(Agrement).where(Agrement.reference == ref)) is None:
            session.add(
                Agrement(
                    account_id=account.id,
                    reference=ref,
                    issued_on=issued,
                    vetted_on=issued,
                    expires_on=five_years_after(issued),
                    authorisations=[AgrementAuthorisation(authorisation_id=a) for a in auth_ids],
                )
            )
    session.flush()


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
    from vigie.cli.serve import Listener, check_ports, serve
    from vigie.sim.runner import SimServer, default_cache_dir, demo_cameras
    from vigie.storage.db import make_engine, make_sessionmaker, session_scope
    from vigie.storage.migrate import upgrade

    if args.cameras < 12:
        raise SystemExit("vigie demo: --cameras must be at least 12")
    demo_environment(args.data_dir)
    settings = Settings()
    setup_logging(settings.log_level, "vigie")
    # Before anything is started (the simulator's port too; 0 is any free port).
    sim_listener = Listener(t("serve.port.sim"), "127.0.0.1", args.sim_port, "--sim-port")
    check_ports(settings, also=[sim_listener] if args.sim_port else [])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, secret_key=settings.secret_key)

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
    sim = SimServer(sim_cams, port=args.sim_port, cache_dir=default_cache_dir())
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
            seed(session, rows, demo_mask=True)
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
            "  Droits de démonstration : Roubaix, Tourcoing et Villeneuve-d'Ascq délèguent leurs",
            "  caméras au centre 24 h/24 ; Lille les nuits (20:00–08:00) et le week-end — le maire",
            "  de Lille voit toujours les siennes. Double authentification désactivée (démo).",
            "  Ctrl-C pour arrêter.",
            "",
        ]
        serve(settings, banner="\n".join(lines), clock=args.clock)
    finally:
        sim.close()
    return 0
