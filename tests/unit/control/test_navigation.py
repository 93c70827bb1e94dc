"""One rule per page (``vigie.control.navigation``): the navigation offers a
role exactly the pages it may open, the page refuses the others, the API the
page loads from answers whoever is offered it, and signing in leads only to
a page of this application."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.base.settings import Settings
from vigie.control.navigation import PAGES, features_for, home_for, may, safe_next
from vigie.domain import roles

HTML = {"accept": "text/html"}
# What each page's script asks on load (GET): it must never refuse whoever is offered the page.
PAGE_APIS = {
    "live": ["/api/cameras", "/api/auth/me", "/api/i18n"],
    "playback": ["/api/cameras"],
    "requisitions": ["/api/requisitions", "/api/transmissions", "/api/cameras"],
    "alarms": ["/api/continuity/alarms"],
    "coverage": ["/api/continuity/coverage"],
    "rights": ["/api/communes", "/api/authorisations"],
    "masks": ["/api/cameras"],
}
# Found by the probe of 2026-12: open redirects after signing in, as Chromium reads them.
HOSTILE_NEXT = [
    "/\\example.org/x",  # ?next=/%5Cexample.org/x
    "/\t/example.org/x",  # ?next=/%09/example.org/x
    "/\n/example.org/x",  # ?next=/%0A/example.org/x
    "/\\/example.org",
    "//example.org",
    "///example.org",
    "https://example.org/live",
    "javascript:alert(1)",
    " /live",
    "/live\r\nSet-Cookie: x=1",
    "/nowhere",  # not routed
    "/api/cameras",  # the API, not a page
    "/login",  # itself
]


def nav_links(html: str) -> set[str]:
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S)
    assert nav is not None
    return set(re.findall(r'<a href="([^"]+)"', nav.group(1)))


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_navigation_page_guard_and_api_agree(
    api: ApiClient, session_factory: sessionmaker[Session], settings: Settings, role: str
) -> None:
    make_account(session_factory, "someone", role)
    api.login("someone")
    offered = {p.path for p in PAGES if may(role, p.key, settings)}
    assert "/droits" in offered  # every account manages its own second factor
    me = api.get("/api/auth/me").json()
    assert me["may"] == features_for(role, settings, mfa=False)
    assert nav_links(api.get("/droits", headers=HTML).text) == offered
    for page in PAGES:
        r = api.get(page.path, headers=HTML, follow_redirects=False)
        if page.path in offered:
            assert r.status_code == 200, (page.path, r.status_code)
            assert (page.key in me["may"]) is True
            for path in PAGE_APIS.get(page.key, []):
                answer = api.get(path)
                assert answer.status_code == 200, (page.path, path, answer.status_code)
        else:
            assert r.status_code == 403, (page.path, r.status_code)
            assert "Erreur 403" in r.text
    home = api.get("/", follow_redirects=False)
    assert home.headers["location"] == home_for(role, settings) in offered


def test_operator_is_not_offered_requisitions(settings: Settings) -> None:
    """The probe's finding: the operator was shown a page whose lists then answered 403."""
    assert not may(roles.CMSU_OPERATOR, "requisitions", settings)
    assert may(roles.CMSU_SUPERVISOR, "requisitions", settings)


def test_admin_sees_live_only_with_image_access(settings: Settings) -> None:
    assert not may(roles.METRO_ADMIN, "live", settings)
    assert "snapshot" not in features_for(roles.METRO_ADMIN, settings, mfa=True)
    opened = settings.model_copy(update={"admin_image_access": True})
    assert may(roles.METRO_ADMIN, "live", opened)
    assert "snapshot" in features_for(roles.METRO_ADMIN, opened, mfa=True)


def test_snapshot_needs_the_second_factor_where_required(settings: Settings) -> None:
    """The mask editor asks for a picture only when the ticket route would give one."""
    required = settings.model_copy(update={"totp_required": True})
    assert "snapshot" not in features_for(roles.CMSU_OPERATOR, required, mfa=False)
    assert "snapshot" in features_for(roles.CMSU_OPERATOR, required, mfa=True)
    assert "live" in features_for(roles.CMSU_OPERATOR, required, mfa=False)  # the page stays
    assert "snapshot" in features_for(roles.CMSU_OPERATOR, settings, mfa=False)  # not required


def test_signed_out_pages_lead_to_sign_in(api: ApiClient) -> None:
    for page in PAGES:
        r = api.get(page.path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303, page.path
        assert r.headers["location"] == f"/login?next={page.path}"
    assert api.get("/", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_safe_next_refuses_anything_but_a_page(api: ApiClient, value: str) -> None:
    pages = api.app.state.page_routes  # type: ignore[attr-defined]
    assert safe_next(value, pages) is None
    r = api.get("/login", params={"next": value})
    assert r.status_code == 200
    assert 'data-next="/"' in r.text


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/live",
        "/live?cameras=1,2&stream=sub",
        "/admin/questionnaire/1/59350",
        "/couverture?commune=59350&week=2025-02-10",
    ],
)
def test_safe_next_keeps_pages_of_the_application(api: ApiClient, value: str) -> None:
    assert safe_next(value, api.app.state.page_routes) == value  # type: ignore[attr-defined]
    r = api.get("/login", params={"next": value})
    assert f'data-next="{value.replace("&", "&amp;")}"' in r.text
