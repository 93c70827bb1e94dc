"""Camera credentials never leave the control plane except towards the media
plane: not in API answers, not in the audit log, not in clear in the database
(the probe's finding 5)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, grant_images, make_account
from vigie.base.settings import Settings
from vigie.control.media_directory import MediaDirectory
from vigie.domain import roles
from vigie.storage.db import session_scope
from vigie.storage.models import AuditEntry, Camera

BASE = {"name": "Grand Place 01", "commune_insee": "59350", "lon": 3.063, "lat": 50.637}


def audit_text(factory: sessionmaker[Session]) -> str:
    with session_scope(factory) as s:
        return json.dumps(
            [[e.action, e.target, e.details] for e in s.scalars(select(AuditEntry))],
            ensure_ascii=False,
        )


def camera_rows(factory: sessionmaker[Session]) -> str:
    """Every column of every camera row, as the database holds it."""
    with session_scope(factory) as s:
        return repr(s.execute(text("SELECT * FROM cameras")).all())


def media_urls(settings: Settings, factory: sessionmaker[Session]) -> dict[tuple[int, str], str]:
    with session_scope(factory) as s:
        cams = list(s.scalars(select(Camera)))
        per_node = MediaDirectory(settings).stream_defs(cams)
    return {(d["camera_id"], d["stream"]): d["url"] for n in per_node.values() for d in n}


def test_password_with_an_at_sign_leaks_nowhere(
    admin: ApiClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    cam = admin.post("/api/cameras", json={**BASE, "main_url": "rtsp://192.0.2.10/main"}).json()
    url = "rtsp://camuser:Pa@ssw0rd-Leak@127.0.0.1:9711/dead"
    r = admin.patch(f"/api/cameras/{cam['id']}", json={"main_url": url})
    assert r.status_code == 200, r.text
    assert r.json()["main_url"] == "rtsp://127.0.0.1:9711/dead"
    assert r.json()["has_credentials"] is True
    for where in (r.text, admin.get("/api/cameras").text, audit_text(session_factory),
                  camera_rows(session_factory)):  # fmt: skip
        assert "ssw0rd" not in where and "Pa@" not in where
    assert '"main_url": "rtsp://127.0.0.1:9711/dead"' in audit_text(session_factory)
    assert media_urls(settings, session_factory)[(cam["id"], "main")] == (
        "rtsp://camuser:Pa%40ssw0rd-Leak@127.0.0.1:9711/dead"
    )


def test_query_string_credentials_are_lifted_and_kept_for_the_media_plane(
    admin: ApiClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    main = "rtsp://192.0.2.10/cam?channel=1&user=admin&password=Qs-Secret-9"
    sub = "rtsp://192.0.2.10/cam?channel=2&Token=Tk-Secret-8"
    r = admin.post("/api/cameras", json={**BASE, "main_url": main, "sub_url": sub})
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["main_url"] == "rtsp://192.0.2.10/cam?channel=1"
    assert cam["sub_url"] == "rtsp://192.0.2.10/cam?channel=2"
    assert cam["has_credentials"] is True
    # An operator listing the cameras sees no secret either.
    op = make_account(session_factory, "op", roles.CMSU_OPERATOR)
    grant_images(session_factory, op, [cam["id"]])
    seen = [r.text, audit_text(session_factory), camera_rows(session_factory)]
    admin.login("op")
    seen.append(admin.get("/api/cameras").text)
    seen.append(admin.get(f"/api/cameras/{cam['id']}").text)
    for where in seen:
        assert "Qs-Secret-9" not in where and "Tk-Secret-8" not in where
        assert "password=" not in where and "user=admin" not in where
    assert '"credentials": "given"' in audit_text(session_factory)
    urls = media_urls(settings, session_factory)
    assert urls[(cam["id"], "main")] == main
    assert urls[(cam["id"], "sub")] == sub


def test_password_field_is_stored_encrypted_and_kept_across_url_edits(
    admin: ApiClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    r = admin.post(
        "/api/cameras",
        json={**BASE, "main_url": "rtsp://192.0.2.10/m?password=Old-Query-1", "username": "op1",
              "password": "Field-Secret-7"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cam_id = r.json()["id"]
    rows = camera_rows(session_factory)
    assert "Field-Secret-7" not in rows and "Old-Query-1" not in rows
    with session_scope(session_factory) as s:
        sealed = s.execute(text("SELECT secrets_sealed FROM cameras")).scalar_one()
    assert sealed.startswith("v1:")
    assert "password" not in {c["name"] for c in _columns(session_factory)}
    urls = media_urls(settings, session_factory)
    assert urls[(cam_id, "main")] == "rtsp://op1:Field-Secret-7@192.0.2.10/m?password=Old-Query-1"
    # The URL as shown, edited and sent back: the stored secrets stay.
    r = admin.patch(f"/api/cameras/{cam_id}", json={"main_url": "rtsp://192.0.2.11/m"})
    assert r.status_code == 200, r.text
    urls = media_urls(settings, session_factory)
    assert urls[(cam_id, "main")] == "rtsp://op1:Field-Secret-7@192.0.2.11/m?password=Old-Query-1"
    # A new password replaces the old one; removing the sub stream drops its secrets.
    admin.patch(f"/api/cameras/{cam_id}", json={"password": "New-Secret-5"})
    assert "New-Secret-5" not in camera_rows(session_factory) + audit_text(session_factory)
    assert "op1:New-Secret-5@" in media_urls(settings, session_factory)[(cam_id, "main")]


def _columns(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    from sqlalchemy import inspect

    with session_scope(factory) as s:
        return list(inspect(s.get_bind()).get_columns("cameras"))


def test_secrets_sealed_under_another_key_are_not_sent(
    admin: ApiClient, settings: Settings, session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    r = admin.post("/api/cameras", json={**BASE, "main_url": "rtsp://u:Key-Secret-3@192.0.2.10/m"})
    cam_id = r.json()["id"]
    other = settings.model_copy(update={"secret_key": "another-secret-" + "z" * 30})
    with caplog.at_level(logging.ERROR):
        urls = media_urls(other, session_factory)
    assert urls[(cam_id, "main")] == "rtsp://u@192.0.2.10/m"
    assert "cannot be decrypted" in caplog.text and "Key-Secret-3" not in caplog.text


def test_a_url_with_an_unencoded_slash_in_the_password_is_refused_without_echoing_it(
    admin: ApiClient,
) -> None:
    for url in ("rtsp://u:pa/ss-Slash-1@192.0.2.10/m", "rtsp://u/ss-Slash-1@192.0.2.10/m"):
        r = admin.post("/api/cameras", json={**BASE, "main_url": url})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "main_url"
        assert "Slash-1" not in r.text and "%40" in r.text
