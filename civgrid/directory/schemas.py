"""In and out of the public grid lookup ("which grid am I in?")."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LocateIn(BaseModel):
    """A WGS84 point from the browser (geolocation or a map click)."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class LocateOut(BaseModel):
    code: str
    name: str
    url: str
