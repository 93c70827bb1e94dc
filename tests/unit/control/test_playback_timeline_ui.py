"""The playback page's timeline bar: every French string its script and template
use is in the catalogue, no French text is written in the script itself, and
no entry of the bar's catalogue file is dead."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.base.i18n import catalogue

WEB = Path(__file__).parents[3] / "src" / "vigie" / "control" / "web"
KEY = r"""\bt\(["'`]([a-z0-9_.]*[a-z0-9_])["'`]"""


def _sources() -> tuple[str, str]:
    script = (WEB / "static" / "playback.js").read_text(encoding="utf-8")
    template = (WEB / "templates" / "playback.html").read_text(encoding="utf-8")
    return script, template


def test_every_key_used_by_the_page_exists() -> None:
    script, template = _sources()
    keys = set(re.findall(KEY, script)) | set(re.findall(KEY, template))
    # keys built from a kind: timeline.pick_recorded / _gap / _future
    assert "t(`timeline.pick_${kindAt(tl.pick)}`" in script
    keys |= {f"timeline.pick_{k}" for k in ("recorded", "gap", "future")}
    assert len(keys) >= 30
    assert keys - set(catalogue()) == set()


def test_script_writes_no_french_itself() -> None:
    script, _ = _sources()
    strings = re.findall(r'"([^"\\]*)"|`([^`]*)`', script)
    letters = r"[À-ÖØ-öø-ÿ]"  # accented letters (not ×)
    accented = [s for pair in strings for s in pair if re.search(letters, s)]
    assert accented == []


def test_no_dead_timeline_entry() -> None:
    script, template = _sources()
    used = set(re.findall(KEY, script + template))
    used |= {f"timeline.pick_{k}" for k in ("recorded", "gap", "future")}
    assert {k for k in catalogue() if k.startswith("timeline.")} - used == set()


def test_page_has_the_bar_and_keeps_the_list(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    make_account(session_factory, "op", "cmsu_operator")
    api.login("op")
    html = api.get("/playback", headers={"accept": "text/html"}).text
    assert 'id="tl-bar"' in html and 'role="slider"' in html and 'tabindex="0"' in html
    assert re.search(r'<details id="pb-list"[^>]*>\s*<summary>Liste des enregistrements', html)
    assert '<ul id="pb-timeline">' in html
    for hours in (1, 6, 24):
        assert f'data-window-h="{hours}"' in html
    assert "http://" not in html and "https://" not in html  # nothing from outside
