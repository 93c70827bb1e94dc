"""The continuity settings: the check-settings read route, the contact
errors the page shows, and the page itself (who sees what)."""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_account
from vigie.base.i18n import catalogue, t
from vigie.base.settings import Settings
from vigie.domain.imagecheck import Thresholds
from vigie.storage.db import session_scope
from vigie.storage.models import AccountCommune, AuditEntry, Camera

STATIC = Path(__file__).parents[3] / "src" / "vigie" / "control" / "web" / "static"


def cameras(factory: sessionmaker[Session]) -> dict[str, int]:
    """Two cameras in Lille, one in Roubaix."""
    with session_scope(factory) as db:
        cams = [
            Camera(name="Beffroi", commune_insee="59350", main_url="rtsp://127.0.0.1/a"),
            Camera(name="Grand-Place", commune_insee="59350", main_url="rtsp://127.0.0.1/b"),
            Camera(name="Gare Roubaix", commune_insee="59512", main_url="rtsp://127.0.0.1/c"),
        ]
        db.add_all(cams)
        db.flush()
        return {c.name: c.id for c in cams}


def audit(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with session_scope(factory) as db:
        rows = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db.expunge_all()
        return rows


def test_check_settings_read_edit_and_reference(
    api: ApiClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cam = cameras(session_factory)["Beffroi"]
    make_account(session_factory, "admin", "metro_admin")
    api.login("admin")
    fresh = api.get(f"/api/continuity/cameras/{cam}/checks").json()
    defaults = asdict(Thresholds())
    assert fresh["defaults"] == defaults and fresh["effective"] == defaults
    assert fresh["thresholds"] == {} and fresh["configured"] is False
    assert (fresh["enabled"], fresh["close_up"], fresh["fast_moving"]) == (True, False, False)
    assert fresh["reference_taken_at"] is None and fresh["reference_pending"] is False

    r = api.put(
        f"/api/continuity/cameras/{cam}/checks",
        json={"enabled": True, "fast_moving": True, "thresholds": {"moved_corr": 0.6}},
    )
    assert r.status_code == 200, r.text
    got = api.get(f"/api/continuity/cameras/{cam}/checks").json()
    assert got == r.json()  # the PUT answers what a GET then reads
    assert got["thresholds"] == {"moved_corr": 0.6} and got["fast_moving"] is True
    assert got["effective"] == defaults | {"moved_corr": 0.6} and got["configured"] is True
    (entry,) = audit(session_factory, "continuity.checks.set")
    assert entry.actor == "admin" and entry.target == f"camera:{cam}"
    assert entry.commune_insee == "59350"  # in the commune's own audit export
    assert entry.details["thresholds"] == {"moved_corr": 0.6}

    bad = api.put(f"/api/continuity/cameras/{cam}/checks", json={"thresholds": {"blur_ratio": 2}})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "blur_ratio"
    assert bad.json()["error"]["message"] == t("continuity.err.threshold_ratio", field="blur_ratio")
    assert api.get(f"/api/continuity/cameras/{cam}/checks").json() == got  # unchanged
    assert api.get("/api/continuity/cameras/999/checks").status_code == 404

    asked = api.post(f"/api/continuity/cameras/{cam}/reference").json()
    pending = api.get(f"/api/continuity/cameras/{cam}/checks").json()
    assert pending["reference_requested_at"] == asked["requested_at"]
    assert pending["reference_pending"] is True and pending["reference_taken_at"] is None
    # The checks process saves the next keyframe as <data_dir>/checks/<id>.npy.
    ref = settings.data_dir / "checks" / f"{cam}.npy"
    ref.parent.mkdir()
    ref.write_bytes(b"reference")
    taken = datetime.fromisoformat(asked["requested_at"]) + timedelta(seconds=2)
    os.utime(ref, (taken.timestamp(), taken.timestamp()))
    done = api.get(f"/api/continuity/cameras/{cam}/checks").json()
    assert done["reference_pending"] is False
    assert datetime.fromisoformat(done["reference_taken_at"]) == taken.astimezone(UTC)


def test_check_settings_scope_and_roles(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    cam = cameras(session_factory)
    account = make_account(session_factory, "lille", "commune_operator")
    with session_scope(session_factory) as db:
        db.add(AccountCommune(account_id=account, commune_insee="59350"))
    make_account(session_factory, "auditeur", "auditor")
    api.login("lille")
    assert api.get(f"/api/continuity/cameras/{cam['Beffroi']}/checks").status_code == 200
    assert api.get(f"/api/continuity/cameras/{cam['Gare Roubaix']}/checks").status_code == 404
    put = api.put(f"/api/continuity/cameras/{cam['Beffroi']}/checks", json={"enabled": False})
    assert put.status_code == 403  # only the administrator edits the checks
    assert api.post(f"/api/continuity/cameras/{cam['Beffroi']}/reference").status_code == 202
    assert api.post(f"/api/continuity/cameras/{cam['Gare Roubaix']}/reference").status_code == 404
    (entry,) = audit(session_factory, "continuity.reference.refresh")
    assert entry.actor == "lille" and entry.commune_insee == "59350"
    api.login("auditeur")
    assert api.get(f"/api/continuity/cameras/{cam['Beffroi']}/checks").status_code == 403


def test_contact_errors_are_french_and_name_the_field(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    make_account(session_factory, "admin", "metro_admin")
    api.login("admin")
    for email in ("pas-une-adresse", "tech@mairie", "tech @mairie.fr", "a@b@c.fr"):
        r = api.post("/api/continuity/contacts", json={"email": email})
        assert r.status_code == 422, email
        assert r.json()["error"] == {
            "kind": "invalid_argument",
            "message": t("continuity.err.email", value=repr(email)),
            "field": "email",
        } | {k: v for k, v in r.json()["error"].items() if k not in ("kind", "message", "field")}
    short = api.post(
        "/api/continuity/contacts",
        json={"webhook_url": "https://hooks.example/x", "webhook_secret": "court"},
    )
    assert short.status_code == 422
    assert short.json()["error"]["message"] == t("continuity.err.webhook_secret")
    assert short.json()["error"]["field"] == "webhook_secret"
    ok = api.post(
        "/api/continuity/contacts",
        json={
            "commune_insee": "59350",
            "label": "Informatique Lille",
            "email": "informatique@mairie-lille.fr",
            "webhook_url": "https://hooks.example/x",
            "webhook_secret": "s" * 16,
            "min_severity": "critical",
        },
    )
    assert ok.status_code == 201, ok.text
    (listed,) = api.get("/api/continuity/contacts").json()
    assert listed["has_secret"] is True and listed["min_severity"] == "critical"


def test_settings_page_for_each_role(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    cameras(session_factory)
    make_account(session_factory, "admin", "metro_admin")
    account = make_account(session_factory, "lille", "commune_operator")
    with session_scope(session_factory) as db:
        db.add(AccountCommune(account_id=account, commune_insee="59350"))
    make_account(session_factory, "auditeur", "auditor")
    html = {"accept": "text/html"}
    forbidden = str(escape(t("auth.forbidden")))

    anonymous = api.get("/continuite/reglages", headers=html, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/continuite/reglages"

    api.login("admin")
    page = api.get("/continuite/reglages", headers=html)
    assert page.status_code == 200
    assert 'id="contact-form"' in page.text and forbidden not in page.text
    assert "Roubaix — Gare Roubaix" in page.text and "Lille — Beffroi" in page.text
    assert "<fieldset>" in page.text  # the checks form is editable
    for name in Thresholds.__dataclass_fields__:  # every threshold has its label
        label = escape(t("continuity.threshold." + name))
        assert f'<label for="th-{name}">{label}</label>' in page.text
    for other in ("/alarmes", "/couverture"):  # both link here
        assert 'href="/continuite/reglages"' in api.get(other, headers=html).text

    api.login("lille")
    page = api.get("/continuite/reglages", headers=html)
    assert page.status_code == 200
    assert 'id="contact-form"' not in page.text and forbidden in page.text
    assert "<fieldset disabled>" in page.text and 'id="reference-refresh"' in page.text
    assert "Beffroi" in page.text and "Gare Roubaix" not in page.text  # Lille's cameras only

    api.login("auditeur")
    refused = api.get("/continuite/reglages", headers=html)
    assert refused.status_code == 403 and forbidden in refused.text


def test_page_script_uses_only_catalogue_keys() -> None:
    """Every literal key the settings script passes to t() is in the catalogue,
    and the script writes no French of its own."""
    source = (STATIC / "continuity_settings.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("([a-z0-9_.]*[a-z0-9_])"', source))
    assert len(keys) >= 15
    assert keys - set(catalogue()) == set()
    for prefix in re.findall(r'\bt\("([a-z0-9_.]+\.)" \+', source):  # t("x." + name)
        assert any(k.startswith(prefix) for k in catalogue()), prefix
    strings = re.findall(r'"([^"\\]*)"|`([^`]*)`', source)
    accented = [s for pair in strings for s in pair if re.search(r"[À-ÿ]", s)]
    assert accented == []
