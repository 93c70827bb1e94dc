"""Privacy masks through the API: who reads, who edits, French refusals,
the audit entry with before/after, and the masks sent to the media plane."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, grant_images, make_account
from vigie.base.settings import Settings
from vigie.control.media_directory import MediaDirectory
from vigie.domain import roles
from vigie.storage.db import session_scope
from vigie.storage.models import AccountCommune, AuditEntry, Camera

WINDOW = {"label": "Fenêtre 2e étage", "points": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4], [0.6, 0.4]]}


def setup(factory: sessionmaker[Session]) -> dict[str, int]:
    ids = {
        "admin": make_account(factory, "admin", roles.METRO_ADMIN),
        "sup": make_account(factory, "sup", roles.CMSU_SUPERVISOR),
        "mayor": make_account(factory, "mayor", roles.COMMUNE_AUTHORITY),
        "mayor_rbx": make_account(factory, "mayor_rbx", roles.COMMUNE_AUTHORITY),
        "op": make_account(factory, "op", roles.CMSU_OPERATOR),
        "auditor": make_account(factory, "auditor", roles.AUDITOR),
    }
    with session_scope(factory) as s:
        s.add(AccountCommune(account_id=ids["mayor"], commune_insee="59350"))
        s.add(AccountCommune(account_id=ids["mayor_rbx"], commune_insee="59512"))
        cam = Camera(name="Beffroi", commune_insee="59350", main_url="rtsp://127.0.0.1/a")
        s.add(cam)
        s.flush()
        ids["cam"] = cam.id
    grant_images(factory, ids["op"], [ids["cam"]])
    return ids


def url(ids: dict[str, int]) -> str:
    return f"/api/cameras/{ids['cam']}/privacy-masks"


def test_mayor_edits_masks_with_a_reason_and_it_is_logged(
    api: ApiClient, session_factory: sessionmaker[Session]
) -> None:
    ids = setup(session_factory)
    api.login("mayor")
    r = api.get(url(ids))
    assert r.status_code == 200 and r.json()["masks"] == [] and r.json()["can_edit"]
    r = api.put(url(ids), json={"masks": [WINDOW], "reason": ""})
    assert r.status_code == 422 and "motif" in r.json()["error"]["message"]
    r = api.put(url(ids), json={"masks": [WINDOW | {"points": WINDOW["points"][:2]}],
                                "reason": "Fenêtres de l'immeuble en face"})  # fmt: skip
    assert r.status_code == 422 and "Masque 1" in r.json()["error"]["message"]
    r = api.put(url(ids), json={"masks": [WINDOW], "reason": "Fenêtres de l'immeuble en face"})
    assert r.status_code == 200, r.text
    assert r.json()["masks"] == [WINDOW]
    assert api.get(f"/api/cameras/{ids['cam']}").json()["privacy_masks"] == [WINDOW]
    r = api.put(url(ids), json={"masks": [], "reason": "Immeuble démoli, plus de masque"})
    assert r.status_code == 200 and r.json()["masks"] == []
    with session_scope(session_factory) as db:
        rows = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_masks_set")))
        assert [(e.actor, e.commune_insee, e.target) for e in rows] == [
            ("mayor", "59350", f"camera:{ids['cam']}")
        ] * 2
        assert rows[0].reason == "Fenêtres de l'immeuble en face"
        assert rows[0].details == {"before": [], "after": [WINDOW]}
        assert rows[1].details == {"before": [WINDOW], "after": []}


def test_who_reads_and_who_edits(api: ApiClient, session_factory: sessionmaker[Session]) -> None:
    ids = setup(session_factory)
    body = {"masks": [WINDOW], "reason": "Fenêtres en face"}
    for user, read, edit in (
        ("admin", 200, 200),
        ("sup", 200, 200),
        ("op", 200, 403),  # sees the camera (agrément, delegation), cannot edit
        ("mayor_rbx", 404, 404),  # another commune: as if it did not exist
        ("auditor", 200, 403),  # inventory roles list cameras, never edit masks
    ):
        api.cookies.clear()
        api.headers.pop("X-CSRF-Token", None)
        api.login(user)
        r = api.get(url(ids))
        assert r.status_code == read, (user, r.text)
        if read == 200:
            assert r.json()["can_edit"] == (edit == 200), user
        r = api.put(url(ids), json=body)
        assert r.status_code == edit, (user, r.text)
        if edit == 403:
            assert "masques" in r.json()["error"]["message"]


def test_masks_are_sent_to_the_media_processes() -> None:
    d = MediaDirectory(Settings(secret_key="d" * 40, media_base_port=9000))
    cam = Camera(id=1, name="c", commune_insee="59350", main_url="rtsp://h/m",
                 sub_url="rtsp://h/s", enabled=True, privacy_masks=[WINDOW])  # fmt: skip
    streams = d.stream_defs([cam])[0]
    assert [s["privacy_masks"] for s in streams] == [[WINDOW], [WINDOW]]
