"""The continuity settings page in a real headless Chromium, against the real
app on a loopback port: the administrator adds the technical contact of
Lille (after the API's French error for a bad e-mail address), changes a
camera's threshold (after a refused one), asks for a new reference picture and
deletes the contact after confirming; the audit log has every change. The
mayor of Lille then sees only Lille's cameras, the contacts refused, the
thresholds read-only, and may still ask for a new reference picture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.admin.pages_support import MAYOR, seeded_browser_site
from tests.integration.browser.pages import (
    CHROMIUM,
    LoginPage,
    PageErrors,
    new_page,
)
from vigie.base.i18n import t
from vigie.continuity.models import CheckSettings, Contact
from vigie.storage.db import session_scope
from vigie.storage.models import AuditEntry, Camera

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium"),
]

ADMIN = ("admin", "vigie-demo-admin")
# The settings page needs no picture: these cameras are never connected to.
CAMERAS: list[tuple[str, str, str, str | None]] = [
    ("Beffroi", "59350", "rtsp://127.0.0.1:9/beffroi", None),
    ("Grand-Place", "59350", "rtsp://127.0.0.1:9/grand-place", None),
    ("Gare Roubaix", "59512", "rtsp://127.0.0.1:9/gare", None),
]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session], Browser]]:
    with seeded_browser_site(tmp_path, CAMERAS, admin_data=False) as site:
        yield site


def signed_in(browser: Browser, base_url: str, account: tuple[str, str]) -> tuple[Page, PageErrors]:
    ctx = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    ctx.set_default_timeout(10_000)
    page, errors = new_page(ctx)
    LoginPage(page, base_url).open().log_in(*account)
    page.goto(f"{base_url}/continuite/reglages")
    expect(page.locator("#whoami")).not_to_be_empty()  # the script ran
    return page, errors


def camera_id(factory: sessionmaker[Session], name: str) -> int:
    with session_scope(factory) as db:
        return int(db.scalars(select(Camera.id).where(Camera.name == name)).one())


def test_admin_then_mayor_on_the_settings_page(
    site: tuple[str, sessionmaker[Session], Browser],
) -> None:
    base_url, factory, browser = site
    beffroi = camera_id(factory, "Beffroi")
    page, errors = signed_in(browser, base_url, ADMIN)

    # Reached from the alarm page's navigation.
    page.goto(f"{base_url}/alarmes")
    page.get_by_role("link", name=t("continuity.page.nav_settings")).click()
    page.wait_for_url(f"{base_url}/continuite/reglages")
    contacts = page.locator("#contacts tbody tr")
    expect(contacts).to_have_text([t("continuity.settings.no_contact")])

    # --- a contact: the API's French error for a bad address, then accepted
    page.get_by_label(t("continuity.settings.field_commune"), exact=True).select_option(
        label="Lille"
    )
    page.get_by_label(t("continuity.settings.field_label"), exact=True).fill("Service technique")
    email = page.get_by_label(t("continuity.settings.field_email"), exact=True)
    email.fill("technique.mairie-lille.fr")
    page.get_by_role("button", name=t("continuity.settings.add"), exact=True).click()
    expect(page.locator("#contact-error")).to_have_text(
        t("continuity.err.email", value=repr("technique.mairie-lille.fr"))
    )
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(contacts).to_have_text([t("continuity.settings.no_contact")])  # nothing added
    email.fill("technique@mairie-lille.fr")
    page.get_by_label(t("continuity.settings.field_severity"), exact=True).select_option(
        label=t("continuity.severity.critical")
    )
    page.get_by_role("button", name=t("continuity.settings.add"), exact=True).click()
    expect(page.locator("#contacts-message")).to_have_text(t("continuity.settings.contact_added"))
    expect(page.locator("#contact-error")).to_be_empty()
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(contacts).to_have_count(1)
    cells = contacts.first.locator("td")
    expect(cells.nth(0)).to_have_text("Lille")
    expect(cells.nth(1)).to_have_text("Service technique")
    expect(cells.nth(2)).to_have_text("technique@mairie-lille.fr")
    expect(cells.nth(4)).to_have_text(t("continuity.severity.critical"))

    # --- the camera's checks: real values shown, a refused then a saved threshold
    page.get_by_label(t("continuity.settings.camera"), exact=True).select_option(
        label="Lille — Beffroi"
    )
    moved = page.get_by_label(t("continuity.threshold.moved_corr"), exact=True)
    expect(moved).to_have_value("0.45")
    expect(page.locator("#th-moved_corr-default")).to_have_text(
        t("continuity.settings.default", value="0,45")
    )
    expect(page.get_by_label(t("continuity.settings.enabled"), exact=True)).to_be_checked()
    save = page.get_by_role("button", name=t("continuity.settings.save"))
    moved.fill("1.5")
    save.click()
    expect(page.locator("#checks-error")).to_have_text(
        t("continuity.err.threshold_ratio", field="moved_corr")
    )
    expect(moved).to_have_attribute("aria-invalid", "true")
    moved.fill("0.6")
    page.get_by_label(t("continuity.settings.close_up"), exact=True).check()
    save.click()
    expect(page.locator("#checks-message")).to_have_text(
        t("continuity.settings.checks_saved", camera="Beffroi")
    )
    expect(page.locator("#checks-error")).to_be_empty()

    # --- a new reference picture: the page says when it was asked
    expect(page.locator("#reference-state")).to_have_text(t("continuity.settings.reference_none"))
    page.get_by_role("button", name=t("continuity.settings.reference_refresh")).click()
    asked_prefix = t("continuity.settings.reference_requested", at="@").split("@")[0]
    expect(page.locator("#reference-message")).to_contain_text(asked_prefix)
    pending_prefix = t("continuity.settings.reference_pending", at="@").split("@")[0]
    expect(page.locator("#reference-state")).to_contain_text(pending_prefix)

    # Saved for real: a reload shows the stored values.
    page.reload()
    page.get_by_label(t("continuity.settings.camera"), exact=True).select_option(
        label="Lille — Beffroi"
    )
    expect(page.get_by_label(t("continuity.threshold.moved_corr"), exact=True)).to_have_value("0.6")
    expect(page.get_by_label(t("continuity.settings.close_up"), exact=True)).to_be_checked()
    expect(page.locator("#reference-state")).to_contain_text(pending_prefix)

    # --- deleting asks first; cancelling keeps the contact
    delete = contacts.first.get_by_role(
        "button", name=t("continuity.settings.delete_label", who="Service technique")
    )
    dialogs: list[str] = []

    def answer(accept: bool) -> None:
        def handler(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.once("dialog", handler)

    answer(False)
    delete.click()
    expect(contacts).to_have_count(1)
    answer(True)
    delete.click()
    expect(page.locator("#contacts-message")).to_have_text(t("continuity.settings.contact_deleted"))
    expect(contacts).to_have_text([t("continuity.settings.no_contact")])
    assert dialogs == [t("continuity.settings.confirm_delete", who="Service technique")] * 2
    # The two refusals (422) above are the only failed requests.
    assert sorted(errors.failed_loads) == sorted(
        [
            f"{base_url}/api/continuity/contacts",
            f"{base_url}/api/continuity/cameras/{beffroi}/checks",
        ]
        + [u for u in errors.failed_loads if u.endswith("/favicon.ico")]
    )
    errors.assert_clean(
        allowed_failed_loads=(
            "/favicon.ico",
            "/api/continuity/contacts",
            f"/cameras/{beffroi}/checks",
        )
    )

    with session_scope(factory) as db:
        assert db.scalars(select(Contact)).all() == []
        cs = db.get(CheckSettings, beffroi)
        assert cs is not None and cs.thresholds == {"moved_corr": 0.6} and cs.close_up
        assert cs.reference_requested_at is not None
        entries = {
            (e.action, e.actor, e.commune_insee, e.target)
            for e in db.scalars(select(AuditEntry).where(AuditEntry.action.like("continuity.%")))
        }
    contact_targets = {e[3] for e in entries if e[0].startswith("continuity.contact.")}
    assert len(contact_targets) == 1
    (contact,) = contact_targets
    assert entries == {
        ("continuity.contact.add", "admin", "59350", contact),
        ("continuity.checks.set", "admin", "59350", f"camera:{beffroi}"),
        ("continuity.reference.refresh", "admin", "59350", f"camera:{beffroi}"),
        ("continuity.contact.delete", "admin", "59350", contact),
    }  # the refused e-mail and threshold changed nothing and left no entry

    # --- the mayor of Lille: Lille's cameras, contacts refused, thresholds read-only
    page, errors = signed_in(browser, base_url, MAYOR)
    expect(page.locator("#contacts-card [role=alert]")).to_have_text(t("auth.forbidden"))
    expect(page.locator("#contact-form")).to_have_count(0)
    options = page.get_by_label(t("continuity.settings.camera"), exact=True).locator("option")
    expect(options).to_have_text(["Lille — Beffroi", "Lille — Grand-Place"])
    expect(page.get_by_label(t("continuity.threshold.moved_corr"), exact=True)).to_have_value("0.6")
    expect(page.get_by_label(t("continuity.threshold.moved_corr"), exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name=t("continuity.settings.save"))).to_be_disabled()
    page.get_by_label(t("continuity.settings.camera"), exact=True).select_option(
        label="Lille — Grand-Place"
    )
    expect(page.get_by_label(t("continuity.threshold.moved_corr"), exact=True)).to_have_value(
        "0.45"
    )
    page.get_by_role("button", name=t("continuity.settings.reference_refresh")).click()
    expect(page.locator("#reference-message")).to_contain_text(asked_prefix)
    errors.assert_clean()
    grand_place = camera_id(factory, "Grand-Place")
    with session_scope(factory) as db:
        (entry,) = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "continuity.reference.refresh",
                AuditEntry.target == f"camera:{grand_place}",
            )
        )
        assert (entry.actor, entry.commune_insee) == (MAYOR[0], "59350")
