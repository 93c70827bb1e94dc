"""The authority model: who may see which camera's images, when, and for what.

One function, ``decide``, answers for every image path (REST, live and
snapshot tickets, playback, export, and the re-check of open sessions):

    (person, camera, purpose, instant) → allowed or not, and the commune
    whose mayor answers for the viewing.

Rules (docs/design/authority.md; ../shared/docs/domain.md §2 rules 4, 5, 7):

* the camera must be enabled and covered by a prefectoral authorisation valid
  on that day (Europe/Paris calendar), whatever the role;
* the role must allow the purpose (national police: live and snapshot only —
  view-only screens; auditors, the project team and requisition officers see no
  image; metropolitan administrators only if ``admin_image_access``);
* roles that see images need a second factor when ``totp_required``;
* a commune's own people (mayor or deputy, commune operators, municipal
  police) see the cameras of the communes they act for; a commune operator
  (non-police) also needs a valid agrément covering the camera's
  authorisation;
* centre operators and supervisors need a valid agrément covering the
  camera's authorisation AND a delegation of the camera's commune to the
  centre that covers the camera at that instant (weekly windows in Paris time
  or a one-off handover), not revoked;
* national police need a delegation of the commune to national police, for a
  commune of their area;
* recorded images (playback, export, timeline) are judged by the period
  recorded: the centre sees only periods its delegations covered (since the
  delegation was made, until it was revoked) while one of its windows is open
  now, or periods an active requisition names for that camera; the commune's
  own people see every period.

A refusal is reported to the caller as "not found" (no leak of another
commune's cameras); its reason goes to the audit log. The same module says who
may see the records about recorded footage (requisitions, transmissions):
``may_hold`` and ``may_see_transmission``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigie.base.clock import Clock
from vigie.base.errors import InvalidArgument, NotFound, PermissionDenied
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.control.deps import Principal
from vigie.domain import roles
from vigie.domain.schedule import PARIS, Interval, covered, covers, intersect, intervals, merge
from vigie.recording.models import Requisition
from vigie.storage import audit
from vigie.storage.db import session_scope
from vigie.storage.delegations import delegation_rule
from vigie.storage.models import (
    Account,
    Agrement,
    Authorisation,
    Camera,
    Delegation,
)

PURPOSES = ("live", "snapshot", "playback", "export")
RECORDED_PURPOSES = ("playback", "export")
GRANTEES = ("cmsu", "national_police")
AGREMENT_STATUSES = ("valid", "suspended", "withdrawn")
VETTING_VALID_YEARS = 5

LOCAL_ROLES = (roles.COMMUNE_AUTHORITY, roles.COMMUNE_OPERATOR, roles.MUNICIPAL_POLICE)
CENTRE_ROLES = (roles.CMSU_OPERATOR, roles.CMSU_SUPERVISOR)
AGREMENT_ROLES = (roles.CMSU_OPERATOR, roles.CMSU_SUPERVISOR, roles.COMMUNE_OPERATOR)

PURPOSE_ROLES: dict[str, frozenset[str]] = {
    "live": frozenset(roles.IMAGE_ROLES),
    # A snapshot is a copy (a JPEG file): not for view-only screens.
    "snapshot": frozenset(roles.IMAGE_ROLES) - {roles.NATIONAL_POLICE},
    "playback": frozenset(roles.IMAGE_ROLES) - {roles.NATIONAL_POLICE},
    "export": frozenset(
        {
            roles.CMSU_SUPERVISOR,
            roles.COMMUNE_AUTHORITY,
            roles.COMMUNE_OPERATOR,
            roles.MUNICIPAL_POLICE,
        }
    ),
}


def roles_for(purpose: str, settings: Settings) -> frozenset[str]:
    """The roles that may see images for ``purpose`` at all (``decide`` narrows further):
    ``PURPOSE_ROLES``, and the administrator where ``admin_image_access`` lets it act
    as a centre supervisor."""
    allowed = PURPOSE_ROLES[purpose]
    if settings.admin_image_access and roles.CMSU_SUPERVISOR in allowed:
        return allowed | {roles.METRO_ADMIN}
    return allowed


def second_factor_ok(settings: Settings, mfa: bool) -> bool:
    """Images need a second factor given in the session, where ``totp_required``."""
    return mfa or not settings.totp_required


def paris_day(at: datetime) -> date:
    return at.astimezone(PARIS).date()


def authorisation_valid(auth: Authorisation | None, at: datetime) -> bool:
    return auth is not None and auth.issued_on <= paris_day(at) <= auth.expires_on


def vetting_expires_on(vetted_on: date) -> date:
    try:
        return vetted_on.replace(year=vetted_on.year + VETTING_VALID_YEARS)
    except ValueError:  # 29 February
        return vetted_on.replace(year=vetted_on.year + VETTING_VALID_YEARS, day=28)


def agrement_valid(ag: Agrement, at: datetime) -> bool:
    day = paris_day(at)
    return (
        ag.status == "valid"
        and ag.issued_on <= day <= ag.expires_on
        and day <= vetting_expires_on(ag.vetted_on)
    )


def delegation_names(d: Delegation, camera_id: int) -> bool:
    return d.all_cameras or camera_id in {c.camera_id for c in d.cameras}


def delegation_covers(d: Delegation, camera_id: int, at: datetime) -> bool:
    if d.revoked_at is not None or not delegation_names(d, camera_id):
        return False
    windows, spans = delegation_rule(d)
    return covered(windows, spans, at)


def delegation_periods(
    d: Delegation, camera_id: int, start: datetime, end: datetime
) -> list[Interval]:
    """What ``d`` handed over of the camera within [start, end): its windows and
    handovers from the day it was made until it was revoked (revoked or not now)."""
    if not delegation_names(d, camera_id):
        return []
    lo = max(start, d.created_at)
    hi = end if d.revoked_at is None else min(end, d.revoked_at)
    if lo >= hi:
        return []
    windows, spans = delegation_rule(d)
    return intervals(windows, spans, lo, hi)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    commune: str
    reason: str  # "ok" or why not, for the audit log


@dataclass
class Grants:
    """What one account holds, loaded once and reused for many cameras."""

    account_id: int
    role: str
    active: bool
    communes: frozenset[str]
    agrements: list[Agrement] = field(default_factory=list)
    # Every delegation to the account's grantee, revoked ones too (for the periods
    # they covered); ``delegation_covers`` refuses revoked ones for the present.
    delegations: dict[str, list[Delegation]] = field(default_factory=dict)
    # Centre roles: the periods active requisitions name, per camera.
    requisitions: dict[int, list[Interval]] = field(default_factory=dict)

    @classmethod
    def load(cls, db: Session, account_id: int) -> Grants:
        account = db.get(Account, account_id)
        if account is None:
            return cls(account_id, "", False, frozenset())
        grants = cls(
            account_id,
            account.role,
            account.is_active,
            frozenset(c.commune_insee for c in account.communes),
        )
        if account.role in AGREMENT_ROLES or account.role == roles.METRO_ADMIN:
            grants.agrements = list(
                db.scalars(select(Agrement).where(Agrement.account_id == account_id))
            )
        grantee = "national_police" if account.role == roles.NATIONAL_POLICE else "cmsu"
        if account.role in (*CENTRE_ROLES, roles.NATIONAL_POLICE, roles.METRO_ADMIN):
            for d in db.scalars(select(Delegation).where(Delegation.grantee == grantee)):
                grants.delegations.setdefault(d.commune_insee, []).append(d)
        if account.role in (*CENTRE_ROLES, roles.METRO_ADMIN):
            for req in db.scalars(select(Requisition).where(Requisition.status == "active")):
                for cid in req.camera_ids:
                    grants.requisitions.setdefault(int(cid), []).append(
                        (req.start_utc, req.end_utc)
                    )
        return grants

    def covers_authorisation(self, authorisation_id: int, at: datetime) -> bool:
        return any(
            agrement_valid(ag, at)
            and authorisation_id in {a.authorisation_id for a in ag.authorisations}
            for ag in self.agrements
        )


def acting_role(grants: Grants, settings: Settings) -> str:
    """The role the account acts in: an administrator with image access acts as
    a centre supervisor."""
    if grants.role == roles.METRO_ADMIN and settings.admin_image_access:
        return roles.CMSU_SUPERVISOR
    return grants.role


def window_open(grants: Grants, camera: Camera, at: datetime) -> bool:
    """A delegation of the camera's commune to the account's grantee covers it now."""
    return any(
        delegation_covers(d, camera.id, at)
        for d in grants.delegations.get(camera.commune_insee, [])
    )


def delegated_periods(
    grants: Grants, camera: Camera, start: datetime, end: datetime
) -> list[Interval]:
    """The periods of [start, end) handed over to the grantee, window open now or not."""
    return merge(
        p
        for d in grants.delegations.get(camera.commune_insee, [])
        for p in delegation_periods(d, camera.id, start, end)
    )


def recorded_periods(
    grants: Grants, camera: Camera, start: datetime, end: datetime, at: datetime, settings: Settings
) -> list[Interval] | None:
    """The recorded periods of [start, end) the account may see at ``at``; None
    means all of them (the commune's own people). For the centre: the periods
    delegated, while a window is open now, and those an active requisition
    names. Says nothing of the other rules: ``decide`` first."""
    if acting_role(grants, settings) not in CENTRE_ROLES:
        return None
    parts = delegated_periods(grants, camera, start, end) if window_open(grants, camera, at) else []
    named = intersect(grants.requisitions.get(camera.id, []), [(start, end)])
    return merge([*parts, *named])


def decide(
    grants: Grants,
    camera: Camera,
    purpose: str,
    at: datetime,
    settings: Settings,
    *,
    mfa: bool = True,
    recorded: Interval | None = None,
) -> Decision:
    """``recorded``: for playback and export, the recorded period asked for; without
    it the answer says whether the account may see any recorded period of the camera."""
    commune = camera.commune_insee

    def no(reason: str) -> Decision:
        return Decision(False, commune, reason)

    if purpose not in PURPOSES:
        raise InvalidArgument(
            f"purpose: {purpose!r} inconnu ({', '.join(PURPOSES)}).", field="purpose"
        )
    if not grants.active:
        return no("account_disabled")
    if not camera.enabled:
        return no("camera_disabled")
    if grants.role not in roles_for(purpose, settings):
        return no("role")
    acting = acting_role(grants, settings)
    if not second_factor_ok(settings, mfa):
        return no("mfa_required")
    if camera.authorisation_id is None or not authorisation_valid(camera.authorisation, at):
        return no("no_valid_authorisation")
    if acting in LOCAL_ROLES:
        if commune not in grants.communes:
            return no("scope")
        if acting == roles.COMMUNE_OPERATOR and not grants.covers_authorisation(
            camera.authorisation_id, at
        ):
            return no("agrement")
        return Decision(True, commune, "ok")
    if acting == roles.NATIONAL_POLICE and commune not in grants.communes:
        return no("scope")
    if acting in CENTRE_ROLES and not grants.covers_authorisation(camera.authorisation_id, at):
        return no("agrement")
    if acting in CENTRE_ROLES and purpose in RECORDED_PURPOSES:
        if not window_open(grants, camera, at) and camera.id not in grants.requisitions:
            return no("delegation")
        if recorded is not None:
            seen = recorded_periods(grants, camera, recorded[0], recorded[1], at, settings)
            if seen is not None and not covers(seen, recorded[0], recorded[1]):
                return no("period")
        return Decision(True, commune, "ok")
    if not window_open(grants, camera, at):
        return no("delegation")
    return Decision(True, commune, "ok")


HOLD_ROLES = (roles.REQUISITION_OFFICER, roles.CMSU_SUPERVISOR, roles.COMMUNE_AUTHORITY)


def may_hold(grants: Grants, camera: Camera, at: datetime) -> bool:
    """Whether the account may see, put or lift legal holds (requisitions) on the
    camera's footage. A mayor and a requisition officer: the communes they act
    for. The centre's supervisor: cameras a commune has handed to the centre (a
    delegation not revoked names it, window open or not) under an authorisation
    its agrément covers."""
    if not grants.active:
        return False
    if grants.role in (roles.COMMUNE_AUTHORITY, roles.REQUISITION_OFFICER):
        return camera.commune_insee in grants.communes
    if grants.role != roles.CMSU_SUPERVISOR or camera.authorisation_id is None:
        return False
    return grants.covers_authorisation(camera.authorisation_id, at) and any(
        d.revoked_at is None and delegation_names(d, camera.id)
        for d in grants.delegations.get(camera.commune_insee, [])
    )


def hold_period_allowed(grants: Grants, camera: Camera, start: datetime, end: datetime) -> bool:
    """The centre puts on hold only periods it was handed, so that a requisition
    it writes never names more than it was delegated; others any period."""
    if grants.role != roles.CMSU_SUPERVISOR:
        return True
    return covers(delegated_periods(grants, camera, start, end), start, end)


def may_see_transmission(
    grants: Grants, camera: Camera, start: datetime, end: datetime, at: datetime, settings: Settings
) -> bool:
    """Whether the account may see the record of an export of [start, end):
    a mayor and a requisition officer, of their communes; the centre's
    supervisor, as it may see those images now (``decide``, purpose export)."""
    if not grants.active:
        return False
    if grants.role in (roles.COMMUNE_AUTHORITY, roles.REQUISITION_OFFICER):
        return camera.commune_insee in grants.communes
    if grants.role != roles.CMSU_SUPERVISOR:
        return False
    return decide(grants, camera, "export", at, settings, recorded=(start, end)).allowed


class AuthorityPolicy:
    """The ``AccessPolicy`` of the control plane, backed by ``decide``."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def camera_for_images(
        self,
        db: Session,
        principal: Principal,
        camera_id: int,
        purpose: str = "live",
        recorded: Interval | None = None,
    ) -> Camera:
        at = self.clock.now()
        camera = db.get(Camera, camera_id)
        if camera is None:
            audit.append(
                db, at=at, action="access_denied", actor=principal.username,
                actor_account_id=principal.account_id, target=f"camera:{camera_id}",
                details={"purpose": purpose, "reason": "unknown_camera"},
            )  # fmt: skip
            db.commit()  # the refusal is logged even though the request fails
            raise NotFound(t("camera.not_found"))
        grants = Grants.load(db, principal.account_id)
        d = decide(grants, camera, purpose, at, self.settings, mfa=principal.mfa, recorded=recorded)
        if not d.allowed:
            details: dict[str, object] = {"purpose": purpose, "reason": d.reason}
            if recorded is not None:
                details |= {
                    "start_utc": recorded[0].isoformat(),
                    "end_utc": recorded[1].isoformat(),
                }
            audit.append(
                db, at=at, action="access_denied", actor=principal.username,
                actor_account_id=principal.account_id, commune_insee=d.commune,
                target=f"camera:{camera_id}", details=details,
            )  # fmt: skip
            db.commit()
            if d.reason == "period":  # the camera is the caller's to see: say what is wrong
                raise PermissionDenied(t("authority.period_not_delegated"), field="start")
            raise NotFound(t("camera.not_found"))
        return camera

    def recorded_periods(
        self, db: Session, principal: Principal, camera: Camera, start: datetime, end: datetime
    ) -> list[Interval] | None:
        """The recorded periods of [start, end) the principal may see now (None: all)."""
        grants = Grants.load(db, principal.account_id)
        return recorded_periods(grants, camera, start, end, self.clock.now(), self.settings)

    def visible_camera_ids(self, db: Session, principal: Principal) -> set[int] | None:
        grants = Grants.load(db, principal.account_id)
        if principal.role in (roles.METRO_ADMIN, roles.PROJECT_TEAM, roles.AUDITOR):
            return None  # inventory roles list every camera (never its images)
        at = self.clock.now()
        return {
            c.id
            for c in db.scalars(select(Camera))
            if decide(grants, c, "live", at, self.settings, mfa=True).allowed
        }


def expiry_alerts(
    authorisations: Iterable[Authorisation],
    today: date,
    thresholds_days: tuple[int, ...] = (180, 90, 30),
) -> list[dict[str, object]]:
    """Authorisations expiring within a threshold (or expired), most urgent first."""
    out: list[dict[str, object]] = []
    for a in authorisations:
        days = (a.expires_on - today).days
        if days < 0:
            level = "expired"
        else:
            hit = [th for th in thresholds_days if days <= th]
            if not hit:
                continue
            level = f"J-{min(hit)}"
        out.append({"authorisation_id": a.id, "number": a.number, "commune_insee": a.commune_insee,
                    "expires_on": a.expires_on.isoformat(), "days_left": days, "level": level})  # fmt: skip
    out.sort(key=lambda x: int(str(x["days_left"])))
    return out


def five_years_after(day: date) -> date:
    """Authorisations are valid 5 years (CSI L252-4)."""
    return vetting_expires_on(day)


class SessionWatch:
    """Re-checks every open image session against ``decide`` and closes those
    whose right has ended (delegation revoked or window over, agrément expired
    or withdrawn, authorisation expired, account disabled). Run every second by
    the control plane; also logs when a live session ends."""

    def __init__(self, sessions: Any, directory: Any, settings: Settings, clock: Clock) -> None:
        self._clock = clock
        self._sessions = sessions
        self._directory = directory
        self._settings = settings
        self.known: dict[str, dict[str, Any]] = {}

    async def run_once(self) -> list[str]:
        open_sessions, complete = await self._directory.open_sessions()
        to_revoke = await asyncio.to_thread(self._check, open_sessions, complete, self._clock.now())
        if to_revoke:
            await self._directory.revoke(jtis=to_revoke)
        return to_revoke

    def _check(
        self, open_sessions: list[dict[str, Any]], complete: bool, at: datetime
    ) -> list[str]:
        revoke: list[str] = []
        current = {str(s["jti"]): s for s in open_sessions}
        with session_scope(self._sessions) as db:
            grants: dict[int, Grants] = {}
            for jti, s in current.items():
                account_id = int(s["account_id"])
                g = grants.get(account_id) or grants.setdefault(
                    account_id, Grants.load(db, account_id)
                )
                camera = db.get(Camera, int(s["camera_id"]))
                if camera is None:
                    d = Decision(False, str(s.get("commune", "")), "camera_deleted")
                else:
                    d = decide(g, camera, str(s["purpose"]), at, self._settings, mfa=True)
                if not d.allowed:
                    revoke.append(jti)
                    account = db.get(Account, account_id)
                    audit.append(
                        db, at=at, action="access_revoked",
                        actor=account.username if account else f"#{account_id}",
                        actor_account_id=account_id, commune_insee=d.commune,
                        target=f"camera:{s['camera_id']}",
                        details={"purpose": s["purpose"], "reason": d.reason, "jti": jti},
                    )  # fmt: skip
            if complete:
                for jti, s in self.known.items():
                    if jti in current:
                        continue
                    account = db.get(Account, int(s["account_id"]))
                    audit.append(
                        db, at=at,
                        action="live_stop" if s["purpose"] == "live" else f"{s['purpose']}_stop",
                        actor=account.username if account else f"#{s['account_id']}",
                        actor_account_id=int(s["account_id"]), commune_insee=s.get("commune"),
                        target=f"camera:{s['camera_id']}",
                        details={"jti": jti, "duration_s": round(at.timestamp() - float(s["iat"]), 1)},
                    )  # fmt: skip
                self.known = current
            else:
                self.known.update(current)
        return revoke
