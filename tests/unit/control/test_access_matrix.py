"""The probe's access matrix, through the real application: camera,
requisition, transmission, alarm, audit and inventory paths × every role ×
two communes × inside and outside Lille's night window (issue 13).

The world is ``two_communes`` (demo-like: Lille hands its cameras to the centre
on nights and weekends, Roubaix around the clock). The expected answers below
are written from the rules (domain.md §2, docs/design/authority.md) in their
own words, not from ``vigie.control.authority``; each path's expectation is a
small function of (account, target, instant) and the table is checked whole,
every wrong answer listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.conftest import ApiClient
from tests.unit.control.two_communes import (
    ACCOUNTS,
    COMMUNES,
    DAY,
    FOOTAGE,
    INSIDE,
    NIGHT,
    OUTSIDE,
    Clients,
    World,
)
from vigie.base.clock import SimulatedClock

# --- who is who ------------------------------------------------------------------------

CENTRE = {"op", "sup"}
LOCAL = {"mayor", "csu", "pm"}  # the commune's own people who see images
HOLDERS = {"mayor", "req", "sup"}  # may deal with requisitions and transmissions


def kind(who: str) -> str:
    """The account's kind: admin, project, auditor, op, sup, mayor, csu, pm, pn, req."""
    return who.split("_")[0]


def commune_of(who: str) -> str | None:
    return ACCOUNTS[who][1]


def cam_commune(cam: str) -> str:
    return "lille" if cam.startswith("lille") else "roubaix"


# --- the rules, stated independently ---------------------------------------------------


def centre_window(cam: str, at: datetime) -> bool:
    """Lille's cameras are the centre's on nights and weekends, Roubaix's always."""
    return cam_commune(cam) == "roubaix" or at == INSIDE


def delegated(cam: str, footage: str) -> bool:
    """Whether that footage was recorded in a period handed to the centre."""
    return cam_commune(cam) == "roubaix" or footage == "night"


def named(cam: str, footage: str) -> bool:
    """Active requisitions name the ``req`` footage of cameras lille and roubaix."""
    return footage == "req" and cam in ("lille", "roubaix")


def sees_live(who: str, cam: str, at: datetime) -> bool:
    k = kind(who)
    if k in LOCAL:
        return commune_of(who) == cam_commune(cam)
    if k == "pn":  # Lille hands its cameras to national police on nights and weekends
        return commune_of(who) == "lille" and cam_commune(cam) == "lille" and at == INSIDE
    if k in CENTRE:
        return centre_window(cam, at)
    return False


def centre_may_replay(cam: str, at: datetime) -> bool:
    return centre_window(cam, at) or cam in ("lille", "roubaix")  # a window, or a requisition


def recorded(who: str, cam: str, footage: str | None, at: datetime, ok: int) -> int:
    """Playback (``ok`` 200) or export (202) of ``footage`` (None: the timeline)."""
    k = kind(who)
    if k in LOCAL:
        return ok if commune_of(who) == cam_commune(cam) else 404
    if k not in CENTRE or (ok == 202 and k == "op") or not centre_may_replay(cam, at):
        return 404
    if footage is None:
        return ok
    seen = (centre_window(cam, at) and delegated(cam, footage)) or named(cam, footage)
    return ok if seen else 403


def hold(who: str, cam: str, footage: str) -> int:
    k = kind(who)
    if k not in HOLDERS:
        return 403
    if k == "sup":  # every camera here is handed to the centre; only delegated periods
        return 201 if delegated(cam, footage) else 403
    return 201 if commune_of(who) == cam_commune(cam) else 404


REQUISITIONS = {  # seeded requisition → communes of its cameras
    "lille": {"lille"},
    "roubaix": {"roubaix"},
    "mixed": {"lille", "roubaix"},
    "lille_released": {"lille"},
    "roubaix_released": {"roubaix"},
    "mixed_released": {"lille", "roubaix"},
}


def requisitions_seen(who: str) -> set[str]:
    if kind(who) == "sup":
        return set(REQUISITIONS)
    return {name for name, cs in REQUISITIONS.items() if commune_of(who) in cs}


def release(who: str, name: str) -> int:
    if kind(who) not in HOLDERS:
        return 403
    whole = kind(who) == "sup" or REQUISITIONS[name] == {commune_of(who)}
    return 409 if whole else 404  # already released (in scope) / as if it did not exist


TRANSMISSIONS = {  # seeded transmission → (camera, footage)
    "lille_day": ("lille", "day"),
    "lille_night": ("lille", "night"),
    "lille_req": ("lille", "req"),
    "roubaix_day": ("roubaix", "day"),
}


def transmissions_seen(who: str, at: datetime) -> set[str]:
    k = kind(who)
    if k == "sup":
        return {n for n, (cam, f) in TRANSMISSIONS.items() if recorded(who, cam, f, at, 1) == 1}
    return {n for n, (cam, _f) in TRANSMISSIONS.items() if cam_commune(cam) == commune_of(who)}


def download(who: str, name: str, at: datetime) -> int:
    k = kind(who)
    if k not in HOLDERS:
        return 403
    # Seen, and the export's images are the caller's: never a requisition officer's.
    return 200 if name in transmissions_seen(who, at) and k != "req" else 404


def alarms_seen(who: str) -> set[str] | None:
    """None: the path is not for this role (403)."""
    k = kind(who)
    if k in ("admin", "op", "sup"):
        return set(COMMUNES)  # technical data: the centre follows every commune's
    if k in ("mayor", "csu"):
        return {str(commune_of(who))}
    return None


def audit(who: str, commune: str) -> int:
    k = kind(who)
    if k in ("auditor", "admin"):
        return 200
    if k == "mayor":
        return 200 if commune_of(who) == commune else 404
    return 403


def inventory(who: str, commune: str) -> int:
    k = kind(who)
    if k in ("project", "admin"):
        return 200
    if k == "mayor" and commune_of(who) == commune:
        return 200
    return 403


# --- the table -------------------------------------------------------------------------


@dataclass
class Ctx:
    client: ApiClient
    world: World
    who: str
    at: datetime


def hold_body(cam_id: int, footage: tuple[datetime, datetime]) -> dict[str, Any]:
    return {"procedure_number": "M-1", "officer": "Lt Martin", "service": "SLPJ",
            "legal_basis": "art. 60 CPP", "camera_ids": [cam_id], "start": footage[0].isoformat(),
            "end": footage[1].isoformat(), "reason": "Flagrant délit"}  # fmt: skip


def try_hold(c: Ctx, cam: str, footage: str) -> int:
    """Put a hold; a hold put is lifted at once (the world stays the same): 200 expected."""
    r = c.client.post("/api/requisitions", json=hold_body(c.world.cams[cam], FOOTAGE[footage]))
    if r.status_code == 201:
        lifted = c.client.post(
            f"/api/requisitions/{r.json()['id']}/release", json={"reason": "Vérification faite"}
        )
        assert lifted.status_code == 200, lifted.text
    return r.status_code


def listed(c: Ctx, url: str, names: dict[str, int]) -> tuple[int, set[str] | None]:
    r = c.client.get(url)
    if r.status_code != 200:
        return r.status_code, None
    ids = {int(x["id"]) for x in r.json()}
    return 200, {n for n, i in names.items() if i in ids}


Check = tuple[str, Callable[[Ctx], object], Callable[[str, datetime], object]]


def camera_checks(cam: str) -> list[Check]:
    def cid(c: Ctx) -> int:
        return c.world.cams[cam]

    def ticket(purpose: str) -> Callable[[Ctx], object]:
        return lambda c: (
            c.client.post(
                f"/api/cameras/{cid(c)}/tickets", json={"stream": "main", "purpose": purpose}
            ).status_code
        )

    def play(f: str) -> Callable[[Ctx], object]:
        return lambda c: (
            c.client.post(
                f"/api/cameras/{cid(c)}/playback",
                json={"start": FOOTAGE[f][0].isoformat(), "reason": "Contrôle d'un signalement"},
            ).status_code
        )

    def export(f: str) -> Callable[[Ctx], object]:
        return lambda c: c.client.post(
            f"/api/cameras/{cid(c)}/exports",
            json={"start": FOOTAGE[f][0].isoformat(), "end": FOOTAGE[f][1].isoformat(),
                  "recipient": "Lt Durand", "service": "SLPJ", "reason": "Réquisition M-1"},
        ).status_code  # fmt: skip

    timeline = {"start": DAY[0].isoformat(), "end": NIGHT[1].isoformat()}
    checks: list[Check] = [
        (f"GET camera {cam}", lambda c: c.client.get(f"/api/cameras/{cid(c)}").status_code,
         lambda who, at: 200 if kind(who) in ("admin", "project", "auditor")
         or sees_live(who, cam, at) else 404),
        (f"live {cam}", ticket("live"), lambda who, at: 200 if sees_live(who, cam, at) else 404),
        (f"snapshot {cam}", ticket("snapshot"),
         lambda who, at: 200 if sees_live(who, cam, at) and kind(who) != "pn" else 404),
        (f"timeline {cam}",
         lambda c: c.client.get(f"/api/cameras/{cid(c)}/recordings/timeline",
                                params=timeline).status_code,
         lambda who, at: recorded(who, cam, None, at, 200)),
    ]  # fmt: skip
    for f in FOOTAGE:
        checks += [
            (f"playback {cam} {f}", play(f), lambda who, at, f=f: recorded(who, cam, f, at, 200)),
            (f"export {cam} {f}", export(f), lambda who, at, f=f: recorded(who, cam, f, at, 202)),
        ]
    for f in ("day", "night"):
        checks.append(
            (f"hold {cam} {f}", lambda c, f=f: try_hold(c, cam, f), lambda who, at, f=f: hold(who, cam, f))
        )  # fmt: skip
    return checks


def global_checks() -> list[Check]:
    checks: list[Check] = [
        ("GET requisitions", lambda c: listed(c, "/api/requisitions", c.world.reqs),
         lambda who, at: (200, requisitions_seen(who)) if kind(who) in HOLDERS else (403, None)),
        ("GET transmissions", lambda c: listed(c, "/api/transmissions", c.world.trs),
         lambda who, at: (200, transmissions_seen(who, at)) if kind(who) in HOLDERS
         else (403, None)),
        ("GET alarms", lambda c: listed(c, "/api/continuity/alarms", c.world.alarms),
         lambda who, at: (403, None) if alarms_seen(who) is None else (200, alarms_seen(who))),
    ]  # fmt: skip
    for name in ("lille_released", "roubaix_released", "mixed_released"):
        checks.append((
            f"release {name}",
            lambda c, n=name: c.client.post(f"/api/requisitions/{c.world.reqs[n]}/release",
                                            json={"reason": "Procédure close"}).status_code,
            lambda who, at, n=name: release(who, n),
        ))  # fmt: skip
    for name in TRANSMISSIONS:
        checks.append((
            f"download {name}",
            lambda c, n=name: c.client.get(
                f"/api/transmissions/{c.world.trs[n]}/files/manifest.json").status_code,
            lambda who, at, n=name: download(who, n, at),
        ))  # fmt: skip
    for commune, code in COMMUNES.items():
        checks += [
            (f"comment alarm {commune}",
             lambda c, m=commune: c.client.post(
                 f"/api/continuity/alarms/{c.world.alarms[m]}/comment", json={"text": "vu"}
             ).status_code,
             lambda who, at, m=commune: 403 if alarms_seen(who) is None
             else 200 if m in (alarms_seen(who) or set()) else 404),
            (f"audit {commune}",
             lambda c, x=code: c.client.get("/api/audit", params={
                 "commune": x, "start": DAY[0].isoformat(), "end": NIGHT[1].isoformat()}).status_code,
             lambda who, at, m=commune: audit(who, m)),
            (f"inventory {commune}",
             lambda c, x=code: c.client.get(f"/api/admin/inventory/communes/{x}").status_code,
             lambda who, at, m=commune: inventory(who, m)),
        ]  # fmt: skip
    return checks


CHECKS = [*camera_checks("lille"), *camera_checks("lille_quiet"), *camera_checks("roubaix"),
          *global_checks()]  # fmt: skip


def test_every_role_in_two_communes_inside_and_outside_the_window(
    world: World, clients: Clients, clock: SimulatedClock
) -> None:
    wrong: list[str] = []
    checked = 0
    for at in (INSIDE, OUTSIDE):
        clock.set(at)
        when = "inside" if at == INSIDE else "outside"
        for who in ACCOUNTS:
            ctx = Ctx(clients[who], world, who, at)
            for name, run, want in CHECKS:
                got, expected = run(ctx), want(who, at)
                checked += 1
                if got != expected:
                    wrong.append(f"{when} {who:16} {name}: got {got}, want {expected}")
    assert not wrong, f"{len(wrong)} wrong of {checked}:\n" + "\n".join(wrong)
    assert checked == 2 * len(ACCOUNTS) * len(CHECKS)
