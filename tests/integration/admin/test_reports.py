from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy.orm import Session

from vigie.admin import catalogue, inventory, participation, reports, survey
from vigie.admin.demo import demo_answers, demo_inventory

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "participation_scenario.json"


def full_data(db: Session) -> reports.ReportData:
    inventory.import_inventory(db=db, sheets=dict(demo_inventory()))
    catalogue.ensure_default(db=db)
    c = survey.create_campaign(
        db=db, name="AMI CMSU", opens_on=date(2024, 12, 23), closes_on=date(2025, 2, 17)
    )
    for code, answers in demo_answers().items():
        survey.submit(
            db=db, campaign_id=c.id, commune=code, answers=answers, account_id=None,
            now=datetime(2025, 2, 1, tzinfo=UTC),
        )  # fmt: skip
    result = participation.compute(participation.load_scenario(EXAMPLE))
    return reports.gather(db=db, today=date(2025, 4, 25), campaign_id=c.id, participation=result)


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


def test_synthesis_pdf_has_charts_map_and_every_commune(db_session: Session) -> None:
    data = full_data(db_session)
    html = reports.synthesis_html(data)
    assert html.count("<svg") >= 5  # two maps, participation bars and map, coverage columns
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    started = time.perf_counter()
    pdf = reports.render_pdf(html)
    elapsed = time.perf_counter() - started
    pages, text = pdf_text(pdf)
    assert 4 <= pages <= 15
    flat = " ".join(text.split())
    for name in ("Lille", "Roubaix", "Tourcoing", "Bousbecque", "Villeneuve-d'Ascq", "Wambrechies"):
        assert name in flat, name
    assert "1 850 000,00" in flat.replace("\u202f", " ").replace("\xa0", " ")
    assert elapsed < 60, f"synthesis PDF took {elapsed:.1f} s"


def test_commune_sheets_pdf_one_sheet_per_commune(db_session: Session) -> None:
    data = full_data(db_session)
    codes = ["59350", "59512", "59098", "59005"]
    html = reports.commune_html(
        data, codes, groups=reports.commune_groups(db=db_session, codes=codes, today=data.today)
    )
    pages, text = pdf_text(reports.render_pdf(html))
    assert len(codes) <= pages <= 3 * len(codes)
    for name in ("Lille", "Roubaix", "Bousbecque", "Allennes-les-Marais"):
        assert f"Fiche commune — {name}" in " ".join(text.split())
