"""Which pages each role may use, decided in one place.

Every page names the roles of the API routes it stands on, imported from those
routes' modules (never copied), so that one rule gives:

- the page route's guard: a role the rule excludes is refused (403, ``page_guard``);
- the navigation: a role is offered exactly the pages it may open (``nav_for``);
- ``/api/auth/me``: the page scripts are told the same (``features_for``);
- where signing in leads: the first page the role may use (``home_for``).

``safe_next`` checks where to go after signing in: only a path that the
application routes as a page, else nothing (the caller goes to "/").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute

from vigie.base.errors import PermissionDenied
from vigie.base.i18n import t
from vigie.base.settings import Settings
from vigie.control.api.admin_common import MANAGER_OR_COMMUNE_ROLES
from vigie.control.api.continuity import SUPERVISOR_ROLES
from vigie.control.api.masks import EDITOR_ROLES
from vigie.control.authority import HOLD_ROLES, roles_for, second_factor_ok
from vigie.control.deps import CurrentPrincipal, Principal, get_settings
from vigie.domain import roles

RoleRule = Callable[[Settings], frozenset[str]]


def _fixed(*names: str) -> RoleRule:
    allowed = frozenset(names)
    return lambda _settings: allowed


def _images(purpose: str) -> RoleRule:
    return lambda settings: roles_for(purpose, settings)


@dataclass(frozen=True, slots=True)
class Page:
    key: str  # also the feature's name in /api/auth/me
    path: str
    label: str  # message key of the navigation link
    roles: RoleRule  # the roles of the API routes the page stands on


PAGES = (
    Page("live", "/live", "nav.live", _images("live")),  # live tickets
    Page("playback", "/playback", "nav.playback", _images("playback")),  # playback tickets
    # lists requisitions and transmissions (the holders' routes)
    Page("requisitions", "/requisitions", "nav.requisitions", _fixed(*HOLD_ROLES)),
    Page("alarms", "/alarmes", "nav.alarms", _fixed(*SUPERVISOR_ROLES)),
    Page("coverage", "/couverture", "nav.coverage", _fixed(*SUPERVISOR_ROLES)),
    Page(
        "continuity_settings",
        "/continuite/reglages",
        "continuity.page.nav_settings",
        _fixed(*SUPERVISOR_ROLES),
    ),
    Page("rights", "/droits", "nav.rights", _fixed(*roles.ALL_ROLES)),  # own second factor
    # editors, and whoever may take the snapshot the masks are drawn over (read
    # only); not view-only screens, for which a snapshot is a copy
    Page(
        "masks",
        "/masques",
        "nav.masks",
        lambda settings: frozenset(EDITOR_ROLES) | roles_for("snapshot", settings),
    ),
    Page("admin", "/admin", "nav.admin", _fixed(*MANAGER_OR_COMMUNE_ROLES)),
)
PAGE = {p.key: p for p in PAGES}
# What page scripts also ask about, with no page of its own.
FEATURES: dict[str, RoleRule] = {"snapshot": _images("snapshot")}
# Where signing in leads: the first of these the role may use.
HOME_ORDER = ("live", "requisitions", "alarms", "admin", "rights")


def may(role: str, key: str, settings: Settings) -> bool:
    rule = PAGE[key].roles if key in PAGE else FEATURES[key]
    return role in rule(settings)


def features_for(role: str, settings: Settings, *, mfa: bool) -> list[str]:
    """Every page and feature the account may use, for the page scripts; the
    image features (``FEATURES``) also need the session's second factor where
    one is required."""
    pages = [k for k in PAGE if may(role, k, settings)]
    images = [k for k in FEATURES if may(role, k, settings) and second_factor_ok(settings, mfa)]
    return sorted(pages + images)


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    current: bool


def nav_for(role: str | None, settings: Settings, current_path: str) -> list[NavLink]:
    """The navigation of a signed-in role (nothing when signed out)."""
    if role is None:
        return []
    return [
        NavLink(p.path, t(p.label), current_path == p.path)
        for p in PAGES
        if may(role, p.key, settings)
    ]


def home_for(role: str, settings: Settings) -> str:
    return next((PAGE[k].path for k in HOME_ORDER if may(role, k, settings)), PAGE["rights"].path)


def page_guard(key: str) -> Callable[[Request, Principal], Principal]:
    """Dependency of the page ``key``: the signed-in account must be allowed it."""
    page = PAGE[key]

    def _check(request: Request, principal: CurrentPrincipal) -> Principal:
        if principal.role not in page.roles(get_settings(request)):
            raise PermissionDenied(t("auth.forbidden"))
        return principal

    return _check


# A path-absolute reference (RFC 3986) with an optional query: no scheme, no
# authority, no backslash, no space or control character, nothing a browser
# could read as another host ("//host", "/\\host", "/\t/host").
_LOCAL = re.compile(
    r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?"
)
MAX_NEXT = 2000
NOT_A_TARGET = ("/login", "/favicon.ico", "/metrics")


def page_routes(routers: Iterable[APIRouter]) -> list[APIRoute]:
    """The HTML pages among the routes of ``routers``: GET, outside the API's
    schema and its /api/ prefix, and not the sign-in page itself."""
    return [
        r
        for router in routers
        for r in router.routes
        if isinstance(r, APIRoute)
        and not r.include_in_schema
        and "GET" in (r.methods or ())
        and not r.path.startswith("/api/")
        and r.path not in NOT_A_TARGET
    ]


def safe_next(value: str | None, pages: Iterable[APIRoute]) -> str | None:
    """``value`` if it is one of ``pages`` (path and query), else None."""
    if not value or len(value) > MAX_NEXT or not _LOCAL.fullmatch(value):
        return None
    path = value.split("?", 1)[0]
    return value if any(r.path_regex.fullmatch(path) for r in pages) else None
