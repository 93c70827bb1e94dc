from __future__ import annotations

import pytest

from vigie.admin.inventory import camera_flags, parse_sheet
from vigie.admin.models import InventoryCameraGroup


def group(**kw: object) -> InventoryCameraGroup:
    base: dict[str, object] = dict(
        commune_insee="59350", count=1, mount="fixed", transport="ip", width_px=1920, height_px=1080,
        fps=25, installed_year=2020, close_up=False,
    )  # fmt: skip
    return InventoryCameraGroup(**(base | kw))


@pytest.mark.parametrize(
    ("kw", "flags"),
    [
        ({}, []),
        ({"installed_year": 2015}, ["age"]),
        ({"installed_year": 2016}, []),
        ({"transport": "analogue"}, ["analogue"]),
        # Close-up needs 704×576 and 12 images/s; others 352×288 and 6 (arrêté of 3 Aug 2007).
        ({"close_up": True, "width_px": 640, "height_px": 480}, ["below_legal_minimum"]),
        ({"close_up": False, "width_px": 640, "height_px": 480}, []),
        ({"close_up": True, "fps": 10}, ["below_legal_minimum"]),
        ({"close_up": False, "fps": 6}, []),
        ({"close_up": False, "fps": 5}, ["below_legal_minimum"]),
        ({"width_px": None, "height_px": None, "fps": None}, []),
    ],
)
def test_camera_flags(kw: dict[str, object], flags: list[str]) -> None:
    assert camera_flags(group(**kw), year=2025) == flags


def test_parse_sheet_reports_every_bad_cell_with_line_and_column() -> None:
    rows = [
        ["commune_insee", "count", "mount", "transport", "fps", "installed_year"],
        ["59350", "3", "fixed", "ip", "25", "2020"],
        ["99999", "x", "dome", "ip", "25", "2020"],
        ["59350", "2", "ptz", "ip", "500", "1800"],
    ]
    records, errors = parse_sheet("cameras", rows, {"59350"})
    assert records[0] == {**records[0], "commune_insee": "59350", "count": 3, "mount": "fixed"}
    got = {(e.line, e.column) for e in errors}
    assert got == {
        (3, "commune_insee"),
        (3, "count"),
        (3, "mount"),
        (4, "fps"),
        (4, "installed_year"),
    }
    assert "99999" in next(e.reason for e in errors if e.column == "commune_insee")
    assert "Feuille « cameras », ligne 3" in str(errors[0])


def test_parse_sheet_refuses_missing_and_unknown_columns() -> None:
    _records, errors = parse_sheet("cameras", [["commune_insee", "colour"]], {"59350"})
    assert {(e.line, e.column) for e in errors} >= {(1, "count"), (1, "colour")}
