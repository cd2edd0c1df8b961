"""Structured explanations of every grid the band could not hold (never silent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civgrid.planning.divide import ProposedGrid

REASONS = {
    "oversized_unit": "one unit holds more households than the band maximum",
    "oversized_site": "a protected site holds more households than the band maximum",
    "exclusive_site": "a protected site is kept as its own exclusive grid",
    "village_below_band": "the whole village has fewer households than the band minimum",
    "area_below_band": "an area cut off from the rest of the village is below the band",
    "no_whole_count": "no whole number of grids fits the band",
    "lumpy_units": "no boundary move fixes the grid without breaking another or contiguity",
}


@dataclass
class Explanation:
    """Why a grid is outside the band or exclusive: a reason key, the grids and a message."""

    reason: str  # a key of REASONS
    grids: list[str]
    households: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "reason": self.reason,
            "grids": self.grids,
            "households": self.households,
            "message": self.message,
        }


def explain(grids: Sequence[ProposedGrid], band: tuple[int, int]) -> list[Explanation]:
    """An explanation for every exclusive or out-of-band grid of one village."""
    lo, hi = band
    total = sum(g.households for g in grids)
    out = []
    for g in grids:
        if g.kind == "exclusive":
            out.append(_exclusive(g, band))
        elif len(grids) == 1 and g.households < lo:
            msg = (
                f"the village has only {total} households, below the band minimum {lo}: "
                f"it is one grid {g.code}"
            )
            out.append(Explanation("village_below_band", [g.code], g.households, msg))
        elif g.households < lo:
            msg = (
                f"grid {g.code} has {g.households} households, below {lo}: its area is cut off "
                "from the rest of the village (by exclusive grids or the village shape)"
            )
            out.append(Explanation("area_below_band", [g.code], g.households, msg))
        elif g.households > hi:
            msg = (
                f"grid {g.code} has {g.households} households, above {hi}: no move of a boundary "
                "unit to a neighbouring grid brings it into the band without pushing another "
                "grid out or breaking contiguity"
            )
            out.append(Explanation("lumpy_units", [g.code], g.households, msg))
    return out


def _exclusive(g: ProposedGrid, band: tuple[int, int]) -> Explanation:
    lo, hi = band
    if g.sites and g.households <= hi:
        msg = f"protected site {g.sites[0]} is kept as its own exclusive grid {g.code}"
        return Explanation("exclusive_site", [g.code], g.households, msg)
    what = f"protected site {g.sites[0]}" if g.sites else f"unit {g.unit_ids[0]}"
    reason = "oversized_site" if g.sites else "oversized_unit"
    msg = (
        f"{what} has {g.households} households (band {lo}–{hi}) and cannot be split: "
        f"it is its own exclusive grid {g.code}"
    )
    return Explanation(reason, [g.code], g.households, msg)
