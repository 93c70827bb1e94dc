"""The privacy-mask editor page (/masques) on the server side: who is offered
it in the navigation, the redirect when signed out, and its scripts' French
strings (all from the catalogue)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.base.i18n import catalogue, t

STATIC = Path(__file__).parents[3] / "src" / "vigie" / "control" / "web" / "static"
HTML = {"accept": "text/html"}
LINK = '<a href="/masques"'


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("metro_admin", True),  # editors
        ("cmsu_supervisor", True),
        ("commune_authority", True),
        ("cmsu_operator", True),  # read only, over the pictures they see
        ("commune_operator", True),
        ("auditor", False),  # sees no picture, edits nothing
        ("project_team", False),
        # The editor's background is a snapshot (a copy): never offered to view-only screens.
        ("national_police", False),
    ],
)
def test_navigation_offers_the_editor_to_who_may_open_it(
    api: ApiClient, session_factory: sessionmaker[Session], role: str, offered: bool
) -> None:
    make_account(session_factory, "someone", role)
    signed_out = api.get("/masques", headers=HTML, follow_redirects=False)
    assert signed_out.status_code == 303
    api.login("someone")
    page = api.get("/droits", headers=HTML)
    assert page.status_code == 200, page.text
    assert (LINK in page.text) is offered, role
    page = api.get("/masques", headers=HTML)
    assert page.status_code == (200 if offered else 403)
    if offered:
        assert f"<title>{t('masks.page.title')} — {t('app.name')}</title>" in page.text
        assert '<script src="/static/masks_editor.js">' in page.text


def test_masks_page_redirects_when_signed_out(api: ApiClient) -> None:
    r = api.get("/masques", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/masques"


def test_overlay_script_is_loaded_by_live_and_playback(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    make_account(session_factory, "op", "cmsu_operator")
    api.login("op")
    for path in ("/live", "/playback"):
        text = api.get(path, headers=HTML).text
        assert text.index("/static/privacy_masks.js") < text.index(f"/static{path}.js"), path


@pytest.mark.parametrize("script", ["masks_editor.js", "privacy_masks.js"])
def test_scripts_use_only_catalogue_keys(script: str) -> None:
    source = (STATIC / script).read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("([a-z0-9_.]*[a-z0-9_])"', source))
    assert keys - set(catalogue()) == set()
    strings = re.findall(r'"([^"\\]*)"|`([^`]*)`', source)
    accented = [s for pair in strings for s in pair if re.search(r"[À-ÿ]", s)]
    assert accented == []
    if script == "masks_editor.js":
        assert len(keys) >= 15


def test_every_page_string_is_used() -> None:
    """No dead entry in the page's part of the catalogue."""
    template = STATIC.parent / "templates" / "masks.html"
    sources = template.read_text(encoding="utf-8") + (STATIC / "masks_editor.js").read_text(
        encoding="utf-8"
    )
    used = set(re.findall(r"""\bt\(["']([a-z0-9_.]*[a-z0-9_])["']""", sources))
    used |= {f"masks.page.col_{k}" for k in ("label", "points", "actions")}  # built in a loop
    assert {k for k in catalogue() if k.startswith("masks.page.")} - used == set()
