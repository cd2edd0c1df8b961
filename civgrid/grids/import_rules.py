"""What imported grids must pass before anything is stored: the six checks, split in two.

Hard rules refuse the import whatever the operator says, because a grid that breaks them
makes the point locator answer wrongly (a case in Beijing "located" in a Shijie grid):
- the grid lies inside its village (check 2; the grid code's first 12 digits name it);
- it does not straddle two villages;
- it does not overlap a current grid, nor another grid of the same file (check 4).

Soft rules refuse unless the operator passes ``--allow-warnings`` (they are matters of
judgement that the division principles leave to the township):
- the village has a surveyed boundary on file (else rule 2 is checked against the nearest
  ancestor division with a boundary, if any);
- households within the band (check 6, comprehensive grids);
- no protected site split (check 5);
- a compact shape (Polsby-Popper at least ``MIN_COMPACTNESS``).

Every problem is a :class:`Problem`: an English msgid with values, translated where shown.
Gaps (check 4) are not checked here: grids are often imported one part of a village at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from civgrid.divisions.models import CODE_LENGTHS, DivisionLevel
from civgrid.divisions.service import ancestor_codes
from civgrid.grids.actions import GridDraft
from civgrid.grids.checks import AREA_TOLERANCE_M2, _valid, local_projector, polsby_popper
from civgrid.grids.geo import from_text
from civgrid.grids.models import DivisionBoundary, Grid, GridKind
from civgrid.web.i18n import N_, gettext

# Below this a shape is a strip or a comb rather than an area people can walk (a square is 0.785,
# a 1:10 rectangle 0.26, a 1:100 strip 0.03).
MIN_COMPACTNESS = 0.1
# A protected site counts as split when the grid holds between these shares of it.
SITE_SHARE = (0.01, 0.99)
VILLAGE_CODE_LENGTH = CODE_LENGTHS[DivisionLevel.VILLAGE]


@dataclass(frozen=True)
class Problem:
    """One finding about an imported feature: an English msgid and its values."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        """The message in ``locale`` with its values in."""
        template = gettext(locale, self.msgid) if locale != "en" else self.msgid
        return template % self.params if self.params else template

    def to_dict(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": self.params}


@dataclass
class Findings:
    """What the rules found: ``hard`` refuses the import, ``soft`` unless warnings are allowed."""

    hard: list[Problem] = field(default_factory=list)
    soft: list[Problem] = field(default_factory=list)


def _tolerance(area_m2: float) -> float:
    # The same slack as the division checks: projection noise and shared vertices.
    return max(AREA_TOLERANCE_M2, 1e-4 * area_m2)


def check_drafts(
    db: Session, drafts: Sequence[tuple[str, GridDraft]], band: tuple[int, int]
) -> Findings:
    """Run the hard and soft rules on labelled drafts (valid WGS84 polygons) against the store."""
    found = Findings()
    if not drafts:
        return found
    boundaries = _boundaries_near(db, drafts)
    current = _grids_near(db, drafts)
    for i, (label, draft) in enumerate(drafts):
        project = local_projector(draft.geometry)
        geom = _valid(project(draft.geometry))
        tol = _tolerance(geom.area)
        _inside_village(db, label, draft, geom, project, boundaries, tol, found)
        _no_overlap(label, geom, project, current, drafts[:i], tol, found)
        _soft_rules(db, label, draft, geom, project, band, found)
    return found


def _boundaries_near(
    db: Session, drafts: Sequence[tuple[str, GridDraft]]
) -> dict[str, BaseGeometry]:
    """Division code → stored boundary: the drafts' villages and their ancestors, and every
    village boundary whose box meets a draft's box (the villages a draft could straddle)."""
    named = {c for _l, d in drafts for c in (d.village_code, *ancestor_codes(d.village_code))}
    near = [_box_meets(DivisionBoundary, d.geometry) for _l, d in drafts]
    query = select(DivisionBoundary).where(or_(DivisionBoundary.division_code.in_(named), *near))
    return {r.division_code: from_text(r.geometry) for r in db.scalars(query)}


def _box_meets(model: Any, geom: BaseGeometry) -> ColumnElement[bool]:
    x0, y0, x1, y1 = geom.bounds
    return and_(model.max_lon >= x0, model.min_lon <= x1, model.max_lat >= y0, model.min_lat <= y1)


def _grids_near(
    db: Session, drafts: Sequence[tuple[str, GridDraft]]
) -> list[tuple[str, BaseGeometry]]:
    """Current first-level grids whose boxes meet a draft's box, as (code, WGS84 geometry)."""
    near = [_box_meets(Grid, d.geometry) for _l, d in drafts]
    query = select(Grid.code, Grid.geometry).where(
        Grid.valid_to.is_(None), Grid.level == 1, or_(*near)
    )
    return [(code, from_text(text)) for code, text in db.execute(query.order_by(Grid.code))]


def _inside_village(
    db: Session,
    label: str,
    draft: GridDraft,
    geom: BaseGeometry,
    project: Any,
    boundaries: dict[str, BaseGeometry],
    tol: float,
    found: Findings,
) -> None:
    village = draft.village_code
    others = []
    for code, outline in boundaries.items():
        if code == village or len(code) != VILLAGE_CODE_LENGTH:
            continue
        shared = geom.intersection(_valid(project(outline))).area
        if shared > tol:
            others.append(code)
    own = boundaries.get(village)
    if own is not None:
        outside = geom.difference(_valid(project(own))).area
        if others and outside > tol:
            found.hard.append(
                Problem(
                    N_("%(feature)s: grid straddles villages %(village)s and %(others)s"),
                    {"feature": label, "village": village, "others": ", ".join(others)},
                )
            )
        elif outside > tol:
            found.hard.append(_outside(label, village, village, outside, geom.area))
        return
    if others:
        found.hard.append(
            Problem(
                N_("%(feature)s: grid of village %(village)s lies in village %(others)s"),
                {"feature": label, "village": village, "others": ", ".join(others)},
            )
        )
    ancestor = next((a for a in reversed(ancestor_codes(village)) if a in boundaries), None)
    if ancestor is not None:
        outside = geom.difference(_valid(project(boundaries[ancestor]))).area
        if outside > tol:
            found.hard.append(_outside(label, village, ancestor, outside, geom.area))
    found.soft.append(
        Problem(
            N_(
                "%(feature)s: village %(village)s has no surveyed boundary on file, so whether "
                "the grid lies inside it cannot be checked"
            ),
            {"feature": label, "village": village},
        )
    )


def _outside(label: str, village: str, division: str, outside: float, area: float) -> Problem:
    if outside >= area - _tolerance(area):
        return Problem(
            N_("%(feature)s: grid lies entirely outside %(division)s (its village %(village)s)"),
            {"feature": label, "division": division, "village": village},
        )
    return Problem(
        N_("%(feature)s: %(area)s m² of the grid lie outside %(division)s (village %(village)s)"),
        {"feature": label, "division": division, "village": village, "area": round(outside)},
    )


def _no_overlap(
    label: str,
    geom: BaseGeometry,
    project: Any,
    current: Sequence[tuple[str, BaseGeometry]],
    earlier: Sequence[tuple[str, GridDraft]],
    tol: float,
    found: Findings,
) -> None:
    for code, other in current:
        shared = geom.intersection(_valid(project(other))).area
        if shared > tol:
            found.hard.append(
                Problem(
                    N_("%(feature)s: grid overlaps grid %(code)s by %(area)s m²"),
                    {"feature": label, "code": code, "area": round(shared)},
                )
            )
    for other_label, other in earlier:
        shared = geom.intersection(_valid(project(other.geometry))).area
        if shared > tol:
            found.hard.append(
                Problem(
                    N_("%(feature)s: grid overlaps %(other)s of the same file by %(area)s m²"),
                    {"feature": label, "other": other_label, "area": round(shared)},
                )
            )


def _soft_rules(
    db: Session,
    label: str,
    draft: GridDraft,
    geom: BaseGeometry,
    project: Any,
    band: tuple[int, int],
    found: Findings,
) -> None:
    from civgrid.grids.service import features_near

    if draft.kind == GridKind.COMPREHENSIVE and not band[0] <= draft.households <= band[1]:
        found.soft.append(
            Problem(
                N_("%(feature)s: %(households)s households, outside the band %(low)s–%(high)s"),
                {"feature": label, "households": draft.households, "low": band[0], "high": band[1]},
            )
        )
    _roads, sites = features_near(db, draft.geometry, inside=True)
    for site in sites:
        area = _valid(project(site.geometry))
        if area.area and SITE_SHARE[0] < geom.intersection(area).area / area.area < SITE_SHARE[1]:
            found.soft.append(
                Problem(
                    N_("%(feature)s: grid splits the protected site %(site)s"),
                    {"feature": label, "site": site.name},
                )
            )
    compactness = polsby_popper(geom)
    if compactness < MIN_COMPACTNESS:
        found.soft.append(
            Problem(
                N_("%(feature)s: the shape is not compact (Polsby-Popper %(value)s < %(min)s)"),
                {"feature": label, "value": round(compactness, 3), "min": MIN_COMPACTNESS},
            )
        )


def geometry_problem(label: str, geom: BaseGeometry | None) -> Problem | None:
    """A problem for a missing, empty or non-finite geometry (checked before any GEOS work)."""
    if geom is None or shapely.is_empty(geom):
        return Problem(N_("%(feature)s: no geometry (empty or unreadable)"), {"feature": label})
    coords = shapely.get_coordinates(geom)
    if not len(coords) or not _finite(coords):
        return Problem(
            N_("%(feature)s: coordinates that are not numbers (NaN or infinity)"),
            {"feature": label},
        )
    return None


def _finite(coords: Any) -> bool:
    return bool(np.isfinite(coords).all())
