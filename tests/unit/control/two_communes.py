"""A demo-like world in two communes, for the scope tests and the access matrix.

Lille (59350) hands its cameras to the centre on nights and weekends (as the
demo does) and to national police on the same windows; Roubaix (59512) hands
its cameras to the centre around the clock. Every role has an account, the
commune roles one per commune. Requisitions (active and released),
transmissions and alarms exist in both communes.

Instants (Europe/Paris): ``INSIDE`` is a Tuesday 23:00 (Lille's night window
open), ``OUTSIDE`` the Wednesday noon after (closed). Footage ranges: ``DAY``
(Tuesday noon, never delegated), ``NIGHT`` (Tuesday 22:00, delegated),
``REQ`` (Monday noon, not delegated but named by the active requisitions).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET, ApiClient
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.continuity.models import Alarm
from vigie.control.app import create_app
from vigie.control.passwords import hash_password
from vigie.domain import roles as r
from vigie.domain.schedule import PARIS
from vigie.recording.models import Requisition, Transmission
from vigie.storage.db import session_scope
from vigie.storage.models import (
    Account,
    AccountCommune,
    Agrement,
    AgrementAuthorisation,
    Authorisation,
    Camera,
    Delegation,
)

LILLE, ROUBAIX = "59350", "59512"
COMMUNES = {"lille": LILLE, "roubaix": ROUBAIX}
NIGHTS_AND_WEEKENDS = [{"weekday": d, "start": "20:00", "end": "08:00"} for d in range(5)] + [
    {"weekday": d, "start": "00:00", "end": "24:00"} for d in (5, 6)
]
ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def paris(*a: int) -> datetime:
    return datetime(*a, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


INSIDE = paris(2026, 11, 24, 23, 0)  # Tuesday night: Lille's window is open
OUTSIDE = paris(2026, 11, 25, 12, 0)  # Wednesday noon: closed
TEN_MIN = timedelta(minutes=10)
DAY = (paris(2026, 11, 24, 12, 0), paris(2026, 11, 24, 12, 0) + TEN_MIN)
NIGHT = (paris(2026, 11, 24, 22, 0), paris(2026, 11, 24, 22, 0) + TEN_MIN)
REQ = (paris(2026, 11, 23, 12, 0), paris(2026, 11, 23, 12, 0) + TEN_MIN)
FOOTAGE = {"day": DAY, "night": NIGHT, "req": REQ}
DELEGATED_SINCE = datetime(2026, 1, 1, tzinfo=UTC)
PASSWORD = "pw-two-communes"

# username → (role, commune key or None)
ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "admin": (r.METRO_ADMIN, None),
    "project": (r.PROJECT_TEAM, None),
    "auditor": (r.AUDITOR, None),
    "op": (r.CMSU_OPERATOR, None),
    "sup": (r.CMSU_SUPERVISOR, None),
    **{
        f"{prefix}_{c}": (role, c)
        for c in COMMUNES
        for prefix, role in (
            ("mayor", r.COMMUNE_AUTHORITY),
            ("csu", r.COMMUNE_OPERATOR),
            ("pm", r.MUNICIPAL_POLICE),
            ("pn", r.NATIONAL_POLICE),
            ("req", r.REQUISITION_OFFICER),
        )
    },
}


@dataclass
class World:
    accounts: dict[str, int]
    cams: dict[str, int]  # lille (named by requisitions), lille_quiet (never), roubaix
    reqs: dict[str, int] = field(default_factory=dict)
    trs: dict[str, int] = field(default_factory=dict)
    alarms: dict[str, int] = field(default_factory=dict)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # once: each hash costs about half a second


def build(factory: sessionmaker[Session], export_root: Path) -> World:
    with session_scope(factory) as s:
        rows = {u: Account(username=u, display_name=u, password_hash=_password_hash(), role=role)
                for u, (role, _c) in ACCOUNTS.items()}  # fmt: skip
        s.add_all(rows.values())
        s.flush()
        accounts = {u: a.id for u, a in rows.items()}
    with session_scope(factory) as s:
        auths = {
            c: Authorisation(commune_insee=code, number=f"VP-{code}", issued_on=date(2024, 1, 1),
                             expires_on=date(2028, 12, 31), retention_max_days=30)
            for c, code in COMMUNES.items()
        }  # fmt: skip
        s.add_all(auths.values())
        s.flush()
        url = "rtsp://192.0.2.1/s"
        cams = {
            "lille": Camera(name="lille", commune_insee=LILLE, main_url=url,
                            authorisation_id=auths["lille"].id),
            "lille_quiet": Camera(name="lille_quiet", commune_insee=LILLE, main_url=url,
                                  authorisation_id=auths["lille"].id),
            "roubaix": Camera(name="roubaix", commune_insee=ROUBAIX, main_url=url,
                              authorisation_id=auths["roubaix"].id),
        }  # fmt: skip
        s.add_all(cams.values())
        s.flush()
        every = [a.id for a in auths.values()]
        for who, ids in [("op", every), ("sup", every)] + [
            (f"csu_{c}", [auths[c].id]) for c in COMMUNES
        ]:
            s.add(Agrement(account_id=accounts[who], reference=f"AGR-{who}",
                           issued_on=date(2024, 1, 1), vetted_on=date(2024, 1, 1),
                           expires_on=date(2028, 12, 31),
                           authorisations=[AgrementAuthorisation(authorisation_id=a) for a in ids]))  # fmt: skip
        for u, (_role, c) in ACCOUNTS.items():
            if c is not None:
                s.add(AccountCommune(account_id=accounts[u], commune_insee=COMMUNES[c]))
        for code, grantee, windows in (
            (LILLE, "cmsu", NIGHTS_AND_WEEKENDS),
            (ROUBAIX, "cmsu", ALL_WEEK),
            (LILLE, "national_police", NIGHTS_AND_WEEKENDS),
        ):
            s.add(Delegation(commune_insee=code, grantee=grantee, windows=windows,
                             created_at=DELEGATED_SINCE))  # fmt: skip
        world = World(accounts, {k: c.id for k, c in cams.items()})

        def req(name: str, cam_names: list[str], status: str) -> None:
            row = Requisition(
                procedure_number=f"P-{name}", officer="Lt Durand", service="SLPJ",
                legal_basis="art. 77-1-1 CPP", camera_ids=sorted(world.cams[n] for n in cam_names),
                start_utc=REQ[0], end_utc=REQ[1], status=status, reason="Enquête préliminaire",
                created_at=REQ[1],
            )  # fmt: skip
            s.add(row)
            s.flush()
            world.reqs[name] = row.id

        req("lille", ["lille"], "active")
        req("roubaix", ["roubaix"], "active")
        req("mixed", ["lille", "roubaix"], "active")
        for name, cam_names in (
            ("lille", ["lille"]),
            ("roubaix", ["roubaix"]),
            ("mixed", ["lille", "roubaix"]),
        ):
            req(f"{name}_released", cam_names, "released")

        def tr(
            name: str, cam: str, footage: tuple[datetime, datetime], req_name: str | None
        ) -> None:
            out = export_root / name
            out.mkdir(parents=True)
            (out / "manifest.json").write_text('{"manifest": {}}')
            row = Transmission(
                camera_id=world.cams[cam], requisition_id=world.reqs[req_name] if req_name else None,
                recipient="Lt Durand", service="SLPJ", start_utc=footage[0], end_utc=footage[1],
                transmitted_at=footage[1], expires_at=footage[1] + timedelta(days=30),
                operator="test", manifest_sha256="0" * 64, export_dir=str(out),
            )  # fmt: skip
            s.add(row)
            s.flush()
            world.trs[name] = row.id

        tr("lille_day", "lille", DAY, None)
        tr("lille_night", "lille", NIGHT, None)
        tr("lille_req", "lille", REQ, "lille")
        tr("roubaix_day", "roubaix", DAY, None)
        for c in COMMUNES:
            cam = world.cams[c]
            alarm = Alarm(key=f"checks:{cam}:offline", source="checks", subject=str(cam),
                          kind="offline", severity="major", message="Caméra hors ligne",
                          camera_id=cam, commune_insee=COMMUNES[c], raised_at=DAY[0])  # fmt: skip
            s.add(alarm)
            s.flush()
            world.alarms[c] = alarm.id
    return world


class Clients:
    """A client signed in as each user, signed in at first use (a sign-in costs a
    password check); the sessions outlive the clock's moves."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.open: dict[str, ApiClient] = {}

    def __getitem__(self, who: str) -> ApiClient:
        if who not in self.open:
            c = ApiClient(self.app)
            c.__enter__()
            c.login(who, PASSWORD)
            self.open[who] = c
        return self.open[who]


@contextmanager
def signed_in(
    tmp_path: Path, factory: sessionmaker[Session], clock: SimulatedClock
) -> Iterator[Clients]:
    settings = Settings(data_dir=str(tmp_path), secret_key=TEST_SECRET, media_base_port=18100,
                        totp_required=False, session_max_age_s=366 * 86400)  # fmt: skip
    clients = Clients(create_app(settings, sessions=factory, background=False, clock=clock))
    try:
        yield clients
    finally:
        for c in clients.open.values():
            c.__exit__(None, None, None)
