"""Grid codes: 12-digit village code + a 2-digit (or, as in Beijing DB11/T 2157-2023,
3-digit) sequence, numbered west→east within rows and rows north→south.

The exact rule (:func:`sequence_order`):
1. each grid is represented by the centroid of its polygon;
2. the row height ``H`` is the median north–south extent (bounding-box height) of the grids;
3. row ``k`` of a grid is ``floor((N - y) / H + 1/2)`` (the nearest whole number of row
   heights), where ``N`` is the northernmost centroid latitude and ``y`` the grid's centroid
   latitude; row 0 is the northernmost, and a regular lattice of grids gets one row per
   lattice row;
4. grids are ordered by row, then by centroid longitude (west first), then by latitude
   (north first), then by their input order;
5. sequences are 1, 2, 3 … in that order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from civgrid.errors import Invalid
from civgrid.text import is_digits


def sequence_order(geoms: Sequence[BaseGeometry]) -> list[int]:
    """Indexes of ``geoms`` in sequence order (rows north→south, west→east within a row)."""
    if not geoms:
        return []
    arr = np.asarray(list(geoms), dtype=object)
    c = shapely.centroid(arr)
    x, y = shapely.get_x(c), shapely.get_y(c)
    b = shapely.bounds(arr)
    height = float(np.median(b[:, 3] - b[:, 1])) or 1e-9
    rows = _rows(y, height)
    return [int(i) for i in np.lexsort((np.arange(len(arr)), -y, x, rows))]


def rows_of(geoms: Sequence[BaseGeometry]) -> list[int]:
    """The row number of each geometry under the rule of :func:`sequence_order`."""
    arr = np.asarray(list(geoms), dtype=object)
    c = shapely.centroid(arr)
    y = shapely.get_y(c)
    b = shapely.bounds(arr)
    height = float(np.median(b[:, 3] - b[:, 1])) or 1e-9
    return [int(r) for r in _rows(y, height)]


def grid_code(village_code: str, sequence: int, digits: int = 2) -> str:
    """The code of grid ``sequence`` in a village: 14 digits (or 15 with 3-digit sequences)."""
    if len(village_code) != 12 or not is_digits(village_code):
        raise Invalid(f"village code {village_code!r} is not 12 digits")
    if not 1 <= sequence < 10**digits:
        raise Invalid(f"grid sequence {sequence} does not fit in {digits} digits")
    return f"{village_code}{sequence:0{digits}d}"


def assign_codes(village_code: str, geoms: Sequence[BaseGeometry], digits: int = 2) -> list[str]:
    """Codes for ``geoms`` (in input order) numbered by :func:`sequence_order`."""
    codes = [""] * len(geoms)
    for seq, i in enumerate(sequence_order(geoms), start=1):
        codes[i] = grid_code(village_code, seq, digits)
    return codes


def is_grid_code(code: str, digits: int = 2) -> bool:
    """True for a well-formed grid code of the configured length."""
    return len(code) == 12 + digits and is_digits(code) and int(code[12:]) > 0


def _rows(y: np.ndarray, height: float) -> np.ndarray:
    return np.floor((y.max() - y) / height + 0.5)
