"""Inline SVG charts for the printable reports: bars and the commune map.

Everything is drawn here from shipped data (the communes' GeoJSON); nothing is
fetched at run time. Output is a string of SVG markup, escaped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from html import escape

from vigie.domain.communes import reference_geojson_text

PALETTE = ("#eef3fb", "#c6d8f0", "#8fb3e0", "#4f86c6", "#1f4e8c")
NO_DATA = "#f4f4f4"
FONT = "DejaVu Sans, sans-serif"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    items: Sequence[tuple[str, float, str]],
    *,
    width: int = 680,
    bar_h: int = 12,
    label_w: int = 190,
) -> str:
    """Horizontal bars: (label, value, value text), in the given order."""
    peak = max((v for _, v, _ in items), default=0) or 1
    gap = 4
    height = len(items) * (bar_h + gap) + gap
    span = width - label_w - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="{bar_h - 2}">'
    ]
    for i, (label, value, text) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(0.0, span * value / peak)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 2}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{_num(w)}" height="{bar_h}" fill="#4f86c6"/>'
            f'<text x="{_num(label_w + w + 4)}" y="{y + bar_h - 2}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    items: Sequence[tuple[str, float, str]], *, width: int = 680, height: int = 200
) -> str:
    """Vertical columns with their value on top (e.g. hours wanted per weekday)."""
    peak = max((v for _, v, _ in items), default=0) or 1
    n = max(1, len(items))
    slot = (width - 20) / n
    base = height - 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">'
    ]
    for i, (label, value, text) in enumerate(items):
        h = (base - 20) * value / peak
        x = 10 + i * slot + slot * 0.15
        w = slot * 0.7
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(base - h)}" width="{_num(w)}" height="{_num(h)}" fill="#4f86c6"/>'
            f'<text x="{_num(x + w / 2)}" y="{_num(base - h - 4)}" text-anchor="middle">{escape(text)}</text>'
            f'<text x="{_num(x + w / 2)}" y="{base + 15}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@cache
def _shapes() -> tuple[tuple[str, str, tuple[tuple[tuple[float, float], ...], ...]], ...]:
    data = json.loads(reference_geojson_text())
    out = []
    for f in data["features"]:
        geom = f["geometry"]
        polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        rings = tuple(
            tuple((float(x), float(y)) for x, y in ring) for poly in polygons for ring in poly
        )
        out.append(
            (str(f["properties"]["insee_code"]), str(f["properties"].get("name", "")), rings)
        )
    return tuple(out)


def classes(values: Mapping[str, float], n: int = len(PALETTE)) -> list[float]:
    """Upper bounds of ``n`` equal-count classes of the positive values."""
    positive = sorted(v for v in values.values() if v > 0)
    if not positive:
        return []
    return sorted(
        {
            positive[min(len(positive) - 1, math.ceil(len(positive) * (i + 1) / n) - 1)]
            for i in range(n)
        }
    )


def commune_map(
    values: Mapping[str, float],
    *,
    width: int = 680,
    highlight: str | None = None,
    unit: str = "",
    labels: Mapping[str, str] | None = None,
) -> str:
    """Choropleth of the 95 communes; communes absent from ``values`` are grey."""
    shapes = _shapes()
    xs = [x for _, _, rings in shapes for ring in rings for x, _ in ring]
    ys = [y for _, _, rings in shapes for ring in rings for _, y in ring]
    lat0 = math.radians((min(ys) + max(ys)) / 2)
    kx = math.cos(lat0)
    span_x = (max(xs) - min(xs)) * kx
    span_y = max(ys) - min(ys)
    map_w = width - 150
    scale = map_w / span_x
    height = int(span_y * scale) + 10
    bounds = classes(values)

    def colour(v: float | None) -> str:
        if v is None:
            return NO_DATA
        if v <= 0:
            return PALETTE[0]
        for i, b in enumerate(bounds):
            if v <= b:
                return PALETTE[min(len(PALETTE) - 1, i + len(PALETTE) - len(bounds))]
        return PALETTE[-1]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">'
    ]
    for code, name, rings in shapes:
        d = " ".join(
            "M"
            + " L".join(
                f"{(x - min(xs)) * kx * scale + 5:.1f},{(max(ys) - y) * scale + 5:.1f}"
                for x, y in ring
            )
            + "Z"
            for ring in rings
        )
        stroke = (
            ' stroke="#d0021b" stroke-width="2.5"'
            if code == highlight
            else ' stroke="#777" stroke-width="0.5"'
        )
        title = escape(f"{name} : {(labels or {}).get(code, values.get(code, '—'))}")
        parts.append(
            f'<path d="{d}" fill="{colour(values.get(code))}"{stroke}><title>{title}</title></path>'
        )
    # Legend.
    lx = map_w + 20
    legend = [(NO_DATA, "sans donnée"), (PALETTE[0], "0")]
    low = 0.0
    for i, b in enumerate(bounds):
        legend.append(
            (
                PALETTE[min(len(PALETTE) - 1, i + len(PALETTE) - len(bounds))],
                f"{_num(low)} – {_num(b)} {unit}",
            )
        )
        low = b
    for i, (fill, text) in enumerate(legend):
        y = 10 + i * 18
        parts.append(
            f'<rect x="{lx}" y="{y}" width="14" height="12" fill="{fill}" stroke="#777" stroke-width="0.5"/>'
            f'<text x="{lx + 20}" y="{y + 10}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
