"""The demo district's grids from the automatic division (called by the demo territory loader)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shapely.geometry.base import BaseGeometry

from civgrid.grids.checks import ProtectedSite
from civgrid.grids.models import GridKind
from civgrid.planning.divide import divide_village
from civgrid.planning.inputs import Unit


def village_grids(
    village_code: str,
    village: BaseGeometry,
    buildings: Sequence[Any],
    *,
    roads: Sequence[BaseGeometry] = (),
    protected: Sequence[ProtectedSite] = (),
    exclusive: Sequence[ProtectedSite] = (),
    band: tuple[int, int] = (300, 500),
    digits: int = 2,
) -> list[tuple[BaseGeometry, int, GridKind, str, str]]:
    """(geometry, households, kind, site name, grid code) of each proposed grid of a village;
    ``buildings`` have ``.geometry`` and ``.households``; ``exclusive`` sites get own grids."""
    units = [Unit(f"{village_code}-{i}", b.geometry, b.households) for i, b in enumerate(buildings)]
    sites = {s.name: s for s in [*protected, *exclusive] if s.geometry.intersection(village).area}
    proposal = divide_village(
        village_code,
        village,
        units,
        roads=[r for r in roads if not r.is_empty],
        protected=list(sites.values()),
        exclusive=[s.name for s in exclusive],
        band=band,
        digits=digits,
    )
    return [
        (g.geometry, g.households, GridKind(g.kind), g.sites[0] if g.sites else "", g.code)
        for g in proposal.grids
    ]
