"""Deterministic, realistic demo data for the 95 MEL communes: an inventory
(sheets ready for :func:`vigie.admin.inventory.import_inventory`) and
questionnaire answers. Same seed, same data; used by the demo and the tests.

Orders of magnitude follow domain.md §1 (Lille ≈100 cameras, Roubaix ≈300,
about ten communes with a CSU, 50 answers of which 38 interested); the rest is
invented.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from vigie.admin.inventory import SHEETS
from vigie.domain.communes import CommuneRecord, load_reference_communes

MAKERS = (
    ("Axis", "P3265-LVE"),
    ("Hanwha", "XNO-6080R"),
    ("Bosch", "FLEXIDOME 5100i"),
    ("Dahua", "IPC-HFW5442"),
)
OLD_MAKERS = (("Bosch", "Dinion 4000"), ("Sony", "SNC-CH140"), ("Panasonic", "WV-CP310"))
CSU_COMMUNES = (
    "59350",
    "59512",
    "59599",
    "59009",
    "59328",
    "59360",
    "59368",
    "59279",
    "59017",
    "59220",
)


def _cameras_for(c: CommuneRecord, rng: random.Random) -> int:
    if c.insee_code == "59512":
        return 300
    if c.insee_code == "59350":
        return 100
    if c.population < 1500 and rng.random() < 0.35:
        return 0
    return max(2, int(c.population / 1000 * rng.uniform(0.4, 1.6)))


def demo_inventory(seed: int = 2025, *, today: date | None = None) -> dict[str, list[list[object]]]:
    rng = random.Random(seed)
    today = today or date(2025, 1, 15)
    sheets: dict[str, list[list[object]]] = {
        name: [list(spec.header)] for name, spec in SHEETS.items()
    }
    for c in load_reference_communes():
        total = _cameras_for(c, rng)
        left = total
        group = 0
        while left > 0:
            group += 1
            n = min(left, rng.randint(1, max(1, total // 3 + 1)))
            left -= n
            year = rng.randint(2006, today.year)
            analogue = year < 2012 and rng.random() < 0.6
            mount = rng.choices(("fixed", "ptz", "multi_sensor"), weights=(6, 3, 1))[0]
            close_up = rng.random() < 0.3
            if analogue:
                maker, model = rng.choice(OLD_MAKERS)
                width, height, fps, codec = 704, 576, rng.choice((6, 12, 25)), "analogue"
            else:
                maker, model = rng.choice(MAKERS if year >= 2015 else MAKERS + OLD_MAKERS)
                width, height = rng.choice(((1920, 1080), (2688, 1520), (1280, 720), (640, 480)))
                fps, codec = (
                    rng.choice((10, 12, 15, 25)),
                    rng.choice(("h264", "h264", "h265", "mjpeg")),
                )
            sheets["cameras"].append(
                [c.insee_code, f"Secteur {group}", n, mount, "analogue" if analogue else "ip", codec,
                 width, height, fps, year, maker, model, "oui" if close_up else "non"]
            )  # fmt: skip
        if total:
            channels = max(4, total + rng.randint(0, 8))
            sheets["recorders"].append(
                [c.insee_code, f"Enregistreur {c.name}", "Milestone" if total > 40 else "Hikvision",
                 "XProtect" if total > 40 else "DS-7616NI", channels, f"{channels * 0.4:.2f}",
                 rng.choice((14, 15, 21, 30)), rng.randint(2012, today.year)]
            )  # fmt: skip
            issued = today - timedelta(days=rng.randint(100, 2000))
            sheets["authorisations"].append(
                [c.insee_code, f"AP-59-{c.insee_code}-{issued.year}", issued.isoformat(),
                 (issued + timedelta(days=5 * 365)).isoformat(), total, rng.choice((14, 15, 21, 30))]
            )  # fmt: skip
            sheets["links"].append(
                [c.insee_code, rng.choice(("fibre", "fibre", "cellular", "copper", "radio")),
                 rng.choice((20, 100, 1000)), rng.choice(("Orange", "SFR", "Bouygues", "Réseau MEL")), "mairie"]
            )  # fmt: skip
        if c.insee_code in CSU_COMMUNES:
            hours = 168 if c.insee_code in ("59350", "59512") else rng.choice((40, 60, 84, 112))
            sheets["csu"].append(
                [
                    c.insee_code,
                    f"CSU de {c.name}",
                    hours,
                    max(2, hours // 14),
                    "non",
                    rng.randint(2010, 2022),
                ]
            )
    return sheets


def demo_answers(seed: int = 2025) -> dict[str, dict[str, Any]]:
    """Answers of 50 communes (38 interested), keyed by INSEE code."""
    rng = random.Random(seed + 1)
    communes = sorted(load_reference_communes(), key=lambda c: c.insee_code)
    chosen = rng.sample(communes, 50)
    out: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(chosen):
        interested = i < 38
        has_csu = c.insee_code in CSU_COMMUNES
        if interested:
            if has_csu:
                night = rng.choice((8, 10, 12))
                hours = dict.fromkeys(
                    ("monday", "tuesday", "wednesday", "thursday", "friday"), night
                )
                hours.update(saturday=rng.choice((12, 24)), sunday=24)
            else:
                day = rng.choice((4, 8, 12, 24))
                hours = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), day)
                hours.update(saturday=rng.choice((0, day)), sunday=rng.choice((0, day // 2)))
            services = ["health_monitoring", "requisitions"]
            if rng.random() < 0.5:
                services.append("recording_camera")
            if rng.random() < 0.3:
                services.append("option_24_7")
            if rng.random() < 0.35:
                services.append("analytics")
            cameras = max(1, int(c.population / 1000 * rng.uniform(0.3, 1.2)))
        else:
            hours, services, cameras = {}, [], 0
        out[c.insee_code] = {
            "hours_wanted": hours,
            "services": services,
            "cameras_to_connect": cameras,
            "pooled_csu_interest": interested and rng.random() < 0.4,
            "ai_interest": interested and rng.random() < 0.5,
            "requisitions_per_month": rng.randint(0, max(1, c.population // 4000))
            if interested
            else 0,
            "contact_name": f"Service tranquillité publique de {c.name}",
            "comments": "",
        }
    return out
