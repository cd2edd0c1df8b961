"""Charts as SVG, drawn on the server: the one definition for the page, the wall and the PDF.

Server-side SVG needs no JavaScript to vendor and renders the same in the browser and in
WeasyPrint. Every text reaches the SVG escaped; every chart is paired with a table view by
its template, and carries a <title> and role="img" for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape
from shapely.geometry.base import BaseGeometry

# Five classes, bad to good (red → green), for choropleths where the direction is known.
GOOD_SCALE = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
NO_DATA = "#d9d9d9"
GRADE_COLOURS = {"A": "#1a9850", "B": "#91cf60", "C": "#fee08b", "D": "#fc8d59", "E": "#d73027"}
# The reports' fonts (report.css). WeasyPrint draws an SVG's text in the fonts the SVG names,
# not the page's: without them its labels pulled in two more fonts (DejaVu Sans and WenQuanYi)
# to embed in every PDF. Pages let the SVG inherit the page's fonts instead (figures.css).
FONT = "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    shape: BaseGeometry
    value: float | None
    shown: str  # the value as text
    href: str


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Projection:
    """Longitude/latitude to SVG pixels: equirectangular, scaled by cos(latitude), fitted."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int, height: int) -> None:
        minx, miny, maxx, maxy = bounds
        self.kx = math.cos(math.radians((miny + maxy) / 2))
        w = max((maxx - minx) * self.kx, 1e-9)
        h = max(maxy - miny, 1e-9)
        self.scale = min((width - 20) / w, (height - 20) / h)
        self.minx, self.maxy = minx, maxy
        self.dx = (width - w * self.scale) / 2
        self.dy = (height - h * self.scale) / 2

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.dx + (lon - self.minx) * self.kx * self.scale
        y = self.dy + (self.maxy - lat) * self.scale
        return round(x, 1), round(y, 1)

    def path(self, geom: BaseGeometry) -> str:
        """The outline as an SVG path, drawn to the pixel: gaps and slivers under a pixel
        closed, then the vertices less than half a pixel off it left out.

        A township's outline is the union of its grids, whose borders rarely meet exactly:
        without the closing, sub-pixel gaps between them kept every grid a ring of its own and
        the path grew with the number of grids (42,000 vertices at 50,000 grids, 3,500 at 2,000);
        with it, it grows with the outline's length in pixels only.
        """
        parts = []
        half = 0.5 / self.scale
        geom = geom.buffer(half, join_style="mitre").buffer(-half, join_style="mitre")
        geom = geom.simplify(half, preserve_topology=True)
        polygons = getattr(geom, "geoms", [geom])
        for poly in polygons:
            if not hasattr(poly, "exterior"):
                continue
            for ring in [poly.exterior, *poly.interiors]:
                pts = [self.xy(x, y) for x, y in ring.coords]
                parts.append("M" + "L".join(f"{x},{y}" for x, y in pts) + "Z")
        return "".join(parts)


def classes(values: Sequence[float | None], good: str) -> list[str]:
    """Colour per value: five equal classes between the lowest and highest, green is good."""
    known = [v for v in values if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
            continue
        k = 2 if hi == lo else min(4, int((v - lo) / (hi - lo) * 5))
        out.append(GOOD_SCALE[k if good == "up" else 4 - k])
    return out


def choropleth(areas: Sequence[Area], *, title: str, good: str, width=640, height=460) -> Markup:  # type: ignore[no-untyped-def]
    """Areas coloured by value; each a link to drill down, with its name and value as title."""
    if not areas:
        return Markup("")
    minx = min(a.shape.bounds[0] for a in areas)
    miny = min(a.shape.bounds[1] for a in areas)
    maxx = max(a.shape.bounds[2] for a in areas)
    maxy = max(a.shape.bounds[3] for a in areas)
    proj = Projection((minx, miny, maxx, maxy), width, height)
    colours = classes([a.value for a in areas], good)
    body = []
    for area, colour in zip(areas, colours, strict=True):
        label = f"{area.name}: {area.shown}"
        body.append(
            Markup(
                '<a href="{href}" translate="no" aria-label="{label}"><path d="{d}" fill="{fill}" '
                'stroke="#fff" stroke-width="1.2"><title>{label}</title></path></a>'
            ).format(href=area.href, label=label, d=proj.path(area.shape), fill=colour)
        )
    return _svg(width, height, title, Markup("").join(body), "choropleth")


def heatmap(  # type: ignore[no-untyped-def]
    outlines: Sequence[BaseGeometry],
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    cells: int = 40,
    width=640,
    height=460,
) -> Markup:
    """Case locations binned in squares over the outlines: the darker, the more cases."""
    if not outlines:
        return Markup("")
    minx = min(g.bounds[0] for g in outlines)
    miny = min(g.bounds[1] for g in outlines)
    maxx = max(g.bounds[2] for g in outlines)
    maxy = max(g.bounds[3] for g in outlines)
    proj = Projection((minx, miny, maxx, maxy), width, height)
    body = [
        Markup('<path d="{d}" fill="#f4f4f4" stroke="#bbb" stroke-width="0.8"/>').format(
            d=proj.path(g)
        )
        for g in outlines
    ]
    step = max(maxx - minx, maxy - miny) / cells or 1.0
    bins: dict[tuple[int, int], int] = {}
    last_i, last_j = int((maxx - minx) / step - 1e-9), int((maxy - miny) / step - 1e-9)
    for lon, lat in points:
        if not (minx <= lon <= maxx and miny <= lat <= maxy):
            continue  # a case outside the outlines (its grid was redrawn since)
        key = (min(int((lon - minx) / step), last_i), min(int((lat - miny) / step), last_j))
        bins[key] = bins.get(key, 0) + 1
    top = max(bins.values(), default=1)
    for (i, j), n in bins.items():
        x0, y0 = proj.xy(minx + i * step, miny + (j + 1) * step)
        x1, y1 = proj.xy(minx + (i + 1) * step, miny + j * step)
        body.append(
            Markup(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#b2182b" '
                'fill-opacity="{o}"><title>{n}</title></rect>'
            ).format(x=x0, y=y0, w=round(x1 - x0, 1), h=round(y1 - y0, 1), o=_opacity(n, top), n=n)
        )
    return _svg(width, height, title, Markup("").join(body), "heatmap")


def _opacity(n: int, top: int) -> str:
    return f"{0.2 + 0.75 * math.sqrt(n / top):.2f}"


def line_chart(  # type: ignore[no-untyped-def]
    points: Sequence[tuple[str, float | None]], *, title: str, percent: bool, width=640, height=220
) -> Markup:
    """A trend: labels along the bottom, a line through the values that have data."""
    if not points:
        return Markup("")
    known = [v for _, v in points if v is not None]
    hi = max(known, default=1.0) or 1.0
    if percent:
        hi = max(hi, 1.0)
    left, bottom, top = 48, height - 28, 14
    span = (width - left - 12) / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return round(bottom - (bottom - top) * v / hi, 1)

    body = [
        Markup('<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>').format(
            l=left, b=bottom, r=width - 8
        ),
        Markup(
            '<text x="{x}" y="{y}" font-size="11" fill="currentColor" text-anchor="end">{t}</text>'
        ).format(x=left - 6, y=top + 4, t=_fmt(hi * 100) + "%" if percent else _fmt(hi)),
        Markup(
            '<text x="{x}" y="{y}" font-size="11" fill="currentColor" text-anchor="end">0</text>'
        ).format(x=left - 6, y=bottom),
    ]
    line = []
    for i, (label, value) in enumerate(points):
        x = round(left + i * span, 1)
        if i % max(1, len(points) // 6) == 0 or i == len(points) - 1:
            body.append(
                Markup(
                    '<text x="{x}" y="{y}" font-size="11" fill="currentColor" '
                    'text-anchor="middle">{t}</text>'
                ).format(x=x, y=height - 8, t=label)
            )
        if value is None:
            continue
        line.append(f"{x},{y(value)}")
        shown = _fmt(value * 100) + "%" if percent else _fmt(value)
        body.append(
            Markup(
                '<circle cx="{x}" cy="{y}" r="3.5" fill="#1f6feb"><title>{t}</title></circle>'
            ).format(x=x, y=y(value), t=f"{label}: {shown}")
        )
    if line:
        body.insert(
            3,
            Markup('<polyline points="{p}" fill="none" stroke="#1f6feb" stroke-width="2"/>').format(
                p=" ".join(line)
            ),
        )
    return _svg(width, height, title, Markup("").join(body), "trend")


def bar_chart(  # type: ignore[no-untyped-def]
    rows: Sequence[tuple[str, float | None, str | None]], *, title: str, width=640, row_height=26
) -> Markup:
    """Horizontal bars of scores (0–100) with their grade, best first."""
    height = 10 + row_height * max(len(rows), 1)
    label_w, body = 260, []
    for i, (label, value, grade) in enumerate(rows):
        y = 6 + i * row_height
        w = 0 if value is None else (width - label_w - 70) * value / 100
        body.append(
            Markup(
                '<text x="{lx}" y="{ty}" text-anchor="end" font-size="12" translate="no" '
                'fill="currentColor">{label}</text>'
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}">'
                "<title>{label}: {v}</title></rect>"
                '<text x="{vx}" y="{ty}" font-size="12" fill="currentColor">{v}</text>'
            ).format(
                lx=label_w - 8,
                ty=y + row_height * 0.62,
                label=label,
                x=label_w,
                y=y,
                w=round(w, 1),
                h=row_height - 8,
                fill=GRADE_COLOURS.get(grade or "", NO_DATA),
                v="—" if value is None else f"{_fmt(value)} {grade}",
                vx=round(label_w + w + 6, 1),
            )
        )
    return _svg(width, height, title, Markup("").join(body), "ranking")


def _svg(width: int, height: int, title: str, body: Markup, kind: str) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-label="{t}" class="chart chart-{k}" font-family="{f}"><title>{t}</title>'
        "{body}</svg>"
    ).format(w=width, h=height, t=escape(title), k=kind, f=FONT, body=body)
