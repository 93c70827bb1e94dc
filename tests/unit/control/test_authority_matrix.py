"""Role × commune × camera × instant × path, against an oracle written from the rules.

The oracle below is written independently of ``vigie.control.authority``: it
computes each delegation's covered spans with ``schedule.intervals`` (not the
wall-clock membership ``decide`` uses) and states the rules of domain.md §2
(4, 5) in its own words. Every path that exists is exercised through HTTP: the
camera's REST resource, live tickets, snapshot tickets; playback and export
purposes go through the same ``decide`` (their routes come with recording).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_SECRET, ApiClient, make_account
from vigie.base.clock import SimulatedClock
from vigie.base.settings import Settings
from vigie.control import authority
from vigie.control.app import create_app
from vigie.domain import roles as r
from vigie.domain.schedule import PARIS, Span, WeeklyWindow, intervals
from vigie.storage.db import session_scope
from vigie.storage.models import (
    AccountCommune,
    Agrement,
    AgrementAuthorisation,
    Authorisation,
    Camera,
    Delegation,
    DelegationCamera,
)

LILLE, ROUBAIX = "59350", "59512"
WEEKNIGHTS = [{"weekday": d, "start": "20:00", "end": "08:00"} for d in range(5)]
WEEKEND = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in (5, 6)]
HANDOVER = {"start": "2026-03-28T23:00:00+00:00", "end": "2026-03-29T05:00:00+00:00"}


def paris(*a: int) -> datetime:
    return datetime(*a, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


# Window edges, DST changes (29 March and 25 October 2026), an ordinary day,
# and dates around the expiry of an authorisation and of an agrément.
INSTANTS = [
    paris(2026, 11, 24, 19, 59),  # Tuesday, just before the night window
    paris(2026, 11, 24, 20, 0),
    paris(2026, 11, 25, 7, 59),
    paris(2026, 11, 25, 8, 0),
    paris(2026, 11, 28, 12, 0),  # Saturday
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # spring-forward night (01:30 CET)
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 03:30 CEST
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST (first)
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET (repeated hour)
    paris(2026, 3, 30, 7, 59),  # Monday after spring-forward
    paris(2027, 6, 1, 23, 0),  # after the agrément of op_expiring ended
]


@dataclass
class World:
    cams: dict[str, int]
    accounts: dict[str, int]


def build(factory: sessionmaker[Session]) -> World:
    accounts = {
        "admin": make_account(factory, "admin", r.METRO_ADMIN),
        "auditor": make_account(factory, "auditor", r.AUDITOR),
        "project": make_account(factory, "project", r.PROJECT_TEAM),
        "requisition": make_account(factory, "requisition", r.REQUISITION_OFFICER),
        "op": make_account(factory, "op", r.CMSU_OPERATOR),
        "op_noagr": make_account(factory, "op_noagr", r.CMSU_OPERATOR),
        "op_suspended": make_account(factory, "op_suspended", r.CMSU_OPERATOR),
        "op_expiring": make_account(factory, "op_expiring", r.CMSU_OPERATOR),
        "sup": make_account(factory, "sup", r.CMSU_SUPERVISOR),
        "mayor_lille": make_account(factory, "mayor_lille", r.COMMUNE_AUTHORITY),
        "csu_lille": make_account(factory, "csu_lille", r.COMMUNE_OPERATOR),
        "csu_lille_noagr": make_account(factory, "csu_lille_noagr", r.COMMUNE_OPERATOR),
        "pm_lille": make_account(factory, "pm_lille", r.MUNICIPAL_POLICE),
        "pn_lille": make_account(factory, "pn_lille", r.NATIONAL_POLICE),
        "pm_roubaix": make_account(factory, "pm_roubaix", r.MUNICIPAL_POLICE),
    }
    with session_scope(factory) as s:
        a_lille = Authorisation(commune_insee=LILLE, number="59-L", issued_on=date(2024, 1, 1),
                                expires_on=date(2028, 12, 31), retention_max_days=30)  # fmt: skip
        a_old = Authorisation(commune_insee=LILLE, number="59-L-OLD", issued_on=date(2021, 1, 1),
                              expires_on=date(2026, 1, 1), retention_max_days=30)  # fmt: skip
        a_rbx = Authorisation(commune_insee=ROUBAIX, number="59-R", issued_on=date(2024, 1, 1),
                              expires_on=date(2028, 12, 31), retention_max_days=15)  # fmt: skip
        s.add_all([a_lille, a_old, a_rbx])
        s.flush()
        url = "rtsp://192.0.2.1/s"
        cams = {
            "lille": Camera(name="lille", commune_insee=LILLE, main_url=url, authorisation_id=a_lille.id),
            "lille_noauth": Camera(name="lille_noauth", commune_insee=LILLE, main_url=url),
            "lille_expired": Camera(name="lille_expired", commune_insee=LILLE, main_url=url,
                                    authorisation_id=a_old.id),
            "roubaix": Camera(name="roubaix", commune_insee=ROUBAIX, main_url=url,
                              authorisation_id=a_rbx.id),
            "roubaix_other": Camera(name="roubaix_other", commune_insee=ROUBAIX, main_url=url,
                                    authorisation_id=a_rbx.id),
        }  # fmt: skip
        s.add_all(cams.values())
        s.flush()

        def agr(
            who: str, auths: list[int], status: str = "valid", until: date = date(2028, 1, 1)
        ) -> None:
            s.add(Agrement(account_id=accounts[who], reference=f"AGR-{who}", issued_on=date(2024, 1, 1),
                           vetted_on=date(2024, 1, 1), expires_on=until, status=status,
                           authorisations=[AgrementAuthorisation(authorisation_id=a) for a in auths]))  # fmt: skip

        all_auths = [a_lille.id, a_old.id, a_rbx.id]
        agr("op", all_auths)
        agr("sup", all_auths)
        agr("op_suspended", all_auths, status="suspended")
        agr("op_expiring", all_auths, until=date(2027, 1, 1))
        agr("csu_lille", [a_lille.id, a_old.id])
        for who, commune in (("mayor_lille", LILLE), ("csu_lille", LILLE), ("csu_lille_noagr", LILLE),
                             ("pm_lille", LILLE), ("pn_lille", LILLE), ("pm_roubaix", ROUBAIX)):  # fmt: skip
            s.add(AccountCommune(account_id=accounts[who], commune_insee=commune))
        # Lille → centre: weeknights, all cameras. Roubaix → centre: weekends and a
        # one-off handover, one camera only. Lille → national police: weekends.
        s.add(Delegation(commune_insee=LILLE, grantee="cmsu", windows=WEEKNIGHTS))
        s.add(Delegation(commune_insee=ROUBAIX, grantee="cmsu", windows=WEEKEND, spans=[HANDOVER],
                         all_cameras=False, cameras=[DelegationCamera(camera_id=cams["roubaix"].id)]))  # fmt: skip
        s.add(Delegation(commune_insee=LILLE, grantee="national_police", windows=WEEKEND))
        # A revoked delegation grants nothing.
        s.add(Delegation(commune_insee=ROUBAIX, grantee="cmsu", windows=WEEKNIGHTS + WEEKEND,
                         revoked_at=datetime(2026, 1, 1, tzinfo=UTC)))  # fmt: skip
        return World({k: c.id for k, c in cams.items()}, accounts)


# --- the oracle ------------------------------------------------------------------------


def covered_spans(
    windows: list[dict[str, object]], spans: list[dict[str, str]], at: datetime
) -> bool:
    ws = [WeeklyWindow.from_json(w) for w in windows]
    ss = [Span(datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"])) for x in spans]
    around = intervals(ws, ss, at - timedelta(days=8), at + timedelta(days=8))
    return any(a <= at < b for a, b in around)


def expected(who: str, cam: str, purpose: str, at: datetime) -> bool:
    day = at.astimezone(PARIS).date()
    commune = LILLE if cam.startswith("lille") else ROUBAIX
    auth_ok = cam in ("lille", "roubaix", "roubaix_other") or (
        cam == "lille_expired" and day <= date(2026, 1, 1)
    )
    viewers = {"op", "op_noagr", "op_suspended", "op_expiring", "sup", "mayor_lille", "csu_lille",
               "csu_lille_noagr", "pm_lille", "pn_lille", "pm_roubaix"}  # fmt: skip
    if who not in viewers or not auth_ok:
        return False
    if who == "pn_lille" and purpose != "live":
        return False  # view-only screens: no replay, no copy (a snapshot is a JPEG file)
    if purpose == "export" and who in ("op", "op_noagr", "op_suspended", "op_expiring", "pn_lille"):
        return False
    if who in ("mayor_lille", "pm_lille"):
        return commune == LILLE
    if who == "pm_roubaix":
        return commune == ROUBAIX
    if who == "csu_lille":
        return commune == LILLE
    if who == "csu_lille_noagr":
        return False
    if who == "pn_lille":
        return commune == LILLE and covered_spans(WEEKEND, [], at)
    # Centre operators: a valid agrément and a delegation covering camera and instant.
    if who == "op_noagr" or who == "op_suspended":
        return False
    if who == "op_expiring" and day > date(2027, 1, 1):
        return False
    if commune == LILLE:
        return covered_spans(WEEKNIGHTS, [], at)
    return cam == "roubaix" and covered_spans(WEEKEND, [HANDOVER], at)


# --- the matrix ------------------------------------------------------------------------


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build(session_factory)


@pytest.fixture
def clients(
    tmp_path: object, session_factory: sessionmaker[Session], world: World, clock: SimulatedClock
) -> Iterator[dict[str, ApiClient]]:
    # Sign-in sessions last the whole test: the clock visits instants months apart.
    settings = Settings(data_dir=str(tmp_path), secret_key=TEST_SECRET, media_base_port=18100,
                        totp_required=False, session_max_age_s=366 * 86400)  # fmt: skip
    app = create_app(settings, sessions=session_factory, background=False, clock=clock)
    out: dict[str, ApiClient] = {}
    for who in world.accounts:
        c = ApiClient(app)
        c.__enter__()
        c.login(who)
        out[who] = c
    yield out
    for c in out.values():
        c.__exit__(None, None, None)


def test_every_path_matches_the_rules(
    world: World, clients: dict[str, ApiClient], clock: SimulatedClock,
    session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    wrong: list[str] = []
    checked = 0
    settings = Settings(secret_key=TEST_SECRET, totp_required=False)
    for at in INSTANTS:
        clock.set(at)
        for who, client in clients.items():
            for cam, cam_id in world.cams.items():
                got = {
                    "rest": client.get(f"/api/cameras/{cam_id}").status_code,
                    "live": client.post(f"/api/cameras/{cam_id}/tickets",
                                        json={"stream": "main", "purpose": "live"}).status_code,
                    "snapshot": client.post(f"/api/cameras/{cam_id}/tickets",
                                            json={"stream": "main", "purpose": "snapshot"}).status_code,
                }  # fmt: skip
                for path, status in got.items():
                    checked += 1
                    want = expected(who, cam, "snapshot" if path == "snapshot" else "live", at)
                    rest_listed = path == "rest" and who in ("admin", "auditor", "project")
                    ok = status == 200 if (want or rest_listed) else status == 404
                    if not ok:
                        wrong.append(f"{path} {who} {cam} {at.isoformat()}: {status}, want {want}")
                with session_scope(session_factory) as s:
                    grants = authority.Grants.load(s, world.accounts[who])
                    camera = s.get(Camera, cam_id)
                    assert camera is not None
                    for purpose in ("playback", "export"):
                        checked += 1
                        d = authority.decide(grants, camera, purpose, at, settings)
                        if d.allowed != expected(who, cam, purpose, at):
                            wrong.append(f"{purpose} {who} {cam} {at.isoformat()}: {d}")
                        assert d.commune == camera.commune_insee
    assert not wrong, f"{len(wrong)} wrong answers of {checked}:\n" + "\n".join(wrong[:40])
    assert checked > 2500


def test_a_refusal_is_audited_and_does_not_leak(
    world: World, clients: dict[str, ApiClient], session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import select

    from vigie.storage.models import AuditEntry

    pm = clients["pm_roubaix"]
    other = pm.post(f"/api/cameras/{world.cams['lille']}/tickets", json={"stream": "main"})
    missing = pm.post("/api/cameras/99999/tickets", json={"stream": "main"})
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    with session_scope(session_factory) as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access_denied")).all()
        reasons = {(e.target, e.details["reason"]) for e in denied}
    assert (f"camera:{world.cams['lille']}", "scope") in reasons
    assert ("camera:99999", "unknown_camera") in reasons
