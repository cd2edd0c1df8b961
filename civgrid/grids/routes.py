"""Grid HTTP: GeoJSON API under /api/v1/grids, the map and checks pages under /grids."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.auth import scope
from civgrid.auth.deps import current_user
from civgrid.auth.models import User
from civgrid.config import get_settings
from civgrid.db.session import get_db
from civgrid.grids import basemap as base_map
from civgrid.grids import geojson, service
from civgrid.grids.geo import gcj02_to_wgs84
from civgrid.grids.models import Grid, OverlayLayer
from civgrid.grids.schemas import (
    BulkLocateIn,
    GridVersionOut,
    LocationOut,
    NeighbourhoodUnitOut,
    OverlayLayerOut,
)
from civgrid.web.responses import AUTHENTICATED
from civgrid.web.templating import render

api = APIRouter(prefix="/api/v1/grids", tags=["grids"], responses=AUTHENTICATED)
pages = APIRouter(prefix="/grids", include_in_schema=False)

DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(current_user)]
Prefix = Annotated[str, Query(pattern=r"^\d{0,15}$", description="division or grid code prefix")]
Area = Annotated[
    str,
    Query(pattern=r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})?$", description="a division code"),
]
Zoom = Annotated[int | None, Query(ge=0, le=22, description="the map's zoom level")]
# Roads change seldom; a browser keeps the answer a while and then revalidates by ETag.
BASEMAP_CACHE = "public, max-age=600"


def _location(loc: service.Location | None) -> LocationOut:
    if loc is None:
        return LocationOut(inside=False, detail=service.OUTSIDE_SERVICE_AREA)
    return LocationOut.model_validate(loc.to_dict())


@api.get("")
def list_grids(db: DB, user: CurrentUser, prefix: Prefix = "") -> dict[str, Any]:
    """Current grids in the caller's territory as a GeoJSON FeatureCollection."""
    grids = service.current_grids(db, user, village=prefix)
    return geojson.feature_collection([geojson.grid_feature(g) for g in grids])


@api.get("/locate", response_model=LocationOut)
def locate(
    db: DB,
    user: CurrentUser,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Literal["wgs84", "gcj02"] = "wgs84",
) -> LocationOut:
    """The grid, division chain and overlay areas at a point (GCJ-02 input converted)."""
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return _location(service.locate_point(db, lon, lat))


@api.post("/locate", response_model=list[LocationOut])
def locate_bulk(db: DB, user: CurrentUser, body: BulkLocateIn) -> list[LocationOut]:
    """Many points at once (vectorised); each answer like ``GET /locate``."""
    points = body.points
    if body.crs == "gcj02":
        points = [gcj02_to_wgs84(lon, lat) for lon, lat in points]
    found = service.locate_many(db, [p[0] for p in points], [p[1] for p in points])
    return [_location(loc) for loc in found]


@api.get("/checks")
def checks(db: DB, user: CurrentUser, prefix: Prefix = "") -> dict[str, Any]:
    """The six division checks per village (and per grid) in the caller's territory."""
    scope.check_role(user, Grid, "view")
    return {v: r.to_dict() for v, r in service.checks_for(db, user, prefix).items()}


@api.get("/villages")
def villages(db: DB, user: CurrentUser, prefix: Prefix = "") -> dict[str, Any]:
    """Village boundaries on file, as GeoJSON."""
    scope.check_role(user, Grid, "view")
    return geojson.feature_collection(geojson.boundary_features(db, user, prefix))


@api.get("/basemap")
def basemap(request: Request, db: DB, area: Area = "", zoom: Zoom = None) -> Response:
    """Roads, rivers and village names for maps without tiles, as GeoJSON (public, no login:
    no personal data); clipped to a division with a margin, simplified for ``zoom``."""
    etag = f'"{base_map.basemap_version(db)}-{area}-{zoom}"'
    headers = {"Cache-Control": BASEMAP_CACHE, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return JSONResponse(base_map.basemap(db, area, zoom), headers=headers)


@api.get("/overlays", response_model=list[OverlayLayerOut])
def overlay_layers(db: DB, user: CurrentUser) -> list[OverlayLayer]:
    """The overlay layers (police service areas, sanitation zones …)."""
    return list(
        db.scalars(scope.restrict(select(OverlayLayer), user, "view").order_by(OverlayLayer.code))
    )


@api.get("/overlays/{code}")
def overlay_areas(code: str, db: DB, user: CurrentUser) -> dict[str, Any]:
    """One overlay layer's areas as GeoJSON, with the grids each covers and the fractions."""
    layer = geojson.get_overlay_layer(db, user, code)
    return geojson.feature_collection(geojson.overlay_features(db, layer))


@api.get("/{grid_id}")
def get_grid(grid_id: int, db: DB, user: CurrentUser) -> dict[str, Any]:
    """One grid as a GeoJSON Feature with its card (leader, members, counts, extensions)."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    feature = geojson.grid_feature(grid)
    feature["properties"]["card"] = geojson.grid_card(db, grid)
    return feature


@api.get("/{grid_id}/versions", response_model=list[GridVersionOut])
def get_versions(grid_id: int, db: DB, user: CurrentUser) -> list[Any]:
    """Every filed version of a grid, oldest first."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    return list(service.grid_history(db, grid))


@api.get("/{grid_id}/units", response_model=list[NeighbourhoodUnitOut])
def get_units(grid_id: int, db: DB, user: CurrentUser) -> list[Any]:
    """The neighbourhood units (联户单元) of a grid."""
    grid = scope.get_for(db, user, Grid, grid_id, "view")
    return list(service.neighbourhood_units(db, grid))


@pages.get("/map", response_class=HTMLResponse)
def map_page(request: Request, db: DB, user: CurrentUser, prefix: Prefix = "") -> HTMLResponse:
    """The grid map: grids by village with codes, cards, overlay toggles, check problems."""
    scope.check_role(user, Grid, "view")
    settings = get_settings()
    return render(
        request,
        "grids/map.html",
        {
            "prefix": prefix,
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
            "nav": "grids",
        },
    )


@pages.get("/checks", response_class=HTMLResponse)
def checks_page(request: Request, db: DB, user: CurrentUser, prefix: Prefix = "") -> HTMLResponse:
    """The six division checks as tables, village by village."""
    scope.check_role(user, Grid, "view")
    reports = service.checks_for(db, user, prefix)
    names = geojson.division_names(db, list(reports))
    return render(
        request,
        "grids/checks.html",
        {"reports": reports, "names": names, "prefix": prefix, "nav": "grids"},
    )
