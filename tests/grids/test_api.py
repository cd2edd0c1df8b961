"""Grid HTTP: GeoJSON API, locate, checks, pages, the generic permission test, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, delete

from civgrid.grids.actions import GridDraft, create_grid, create_neighbourhood_unit
from civgrid.grids.geo import wgs84_to_gcj02
from civgrid.grids.models import Grid, GridVersion
from civgrid.grids.overlays import import_overlay_layer
from tests.conftest import OWNER_URL, PASSWORD
from tests.grids.conftest import LAT, LON, MX, VILLAGE, M, sq


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),  # anonymous
        (("resident", ("division", "441900101")), 403),  # wrong role
        (("grid_worker", ("division", "441900102")), 404),  # right role, other town
        (("grid_worker", ("division", "441900101002")), 200),  # right role, own village
    ],
)
def test_grid_permissions(client, make_user, bearer, two_grids, who, status) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(make_user(who[0], who[1])) if who else {}
    r = client.get(f"/api/v1/grids/{two_grids[0].id}", headers=headers)
    assert r.status_code == status, r.text


def test_list_is_geojson_limited_to_territory(client, make_user, bearer, two_grids, db) -> None:  # type: ignore[no-untyped-def]
    create_grid(db, GridDraft("441900101200", sq(500, 0, 600, 100), "唐洪一", 320), actor=None)
    worker = make_user("grid_worker", ("division", "441900101002"))
    fc = client.get("/api/v1/grids", headers=bearer(worker)).json()
    assert fc["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in fc["features"]] == ["44190010100201", "44190010100202"]
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    chief = make_user("duty_chief", ("division", "441900101"))
    assert len(client.get("/api/v1/grids", headers=bearer(chief)).json()["features"]) == 3


def test_card_and_versions(client, make_user, bearer, two_grids, db) -> None:  # type: ignore[no-untyped-def]
    leader = make_user("grid_leader", ("grid", two_grids[0].code))
    two_grids[0].leader_id = leader.id
    db.commit()
    r = client.get(f"/api/v1/grids/{two_grids[0].id}", headers=bearer(leader))
    card = r.json()["properties"]["card"]
    assert card["leader"] == leader.display_name and card["households"] == 400
    assert card["open_cases"] is None  # the hook the cases engine fills
    versions = client.get(f"/api/v1/grids/{two_grids[0].id}/versions", headers=bearer(leader))
    assert [v["version"] for v in versions.json()] == [1]
    create_neighbourhood_unit(db, two_grids[0], name="3栋", households=24, actor=None)
    units = client.get(f"/api/v1/grids/{two_grids[0].id}/units", headers=bearer(leader)).json()
    assert [(u["name"], u["households"]) for u in units] == [("3栋", 24)]


def test_locate_api_wgs84_gcj02_and_outside(client, make_user, bearer, two_grids) -> None:  # type: ignore[no-untyped-def]
    h = bearer(make_user("dispatcher", ("division", "441900101")))
    lon, lat = LON + 150 * MX, LAT + 50 * M
    r = client.get("/api/v1/grids/locate", params={"lon": lon, "lat": lat}, headers=h).json()
    assert r["inside"] and r["grid_code"] == "44190010100202"
    glon, glat = wgs84_to_gcj02(lon, lat)
    r = client.get(
        "/api/v1/grids/locate", params={"lon": glon, "lat": glat, "crs": "gcj02"}, headers=h
    ).json()
    assert r["grid_code"] == "44190010100202"
    r = client.get("/api/v1/grids/locate", params={"lon": glon, "lat": glat}, headers=h).json()
    assert r == {**r, "inside": False, "detail": "outside the service area"}  # GCJ offset ~500 m
    bulk = client.post(
        "/api/v1/grids/locate", json={"points": [[lon, lat], [0, 0]]}, headers=h
    ).json()
    assert [b["inside"] for b in bulk] == [True, False]


def test_checks_api_and_pages(client, make_user, bearer, two_grids, db) -> None:  # type: ignore[no-untyped-def]
    create_grid(db, GridDraft(VILLAGE, sq(150, 0, 250, 100), "重叠", 100), actor=None)
    import_overlay_layer(
        db, code="police", name="警务区", areas=[("J1", "一区", sq(0, 0, 300, 100))], actor=None
    )
    chief = make_user("duty_chief", ("division", "441900101"))
    h = bearer(chief)
    report = client.get("/api/v1/grids/checks", headers=h).json()[VILLAGE]
    assert report["overlap_area_m2"] == pytest.approx(5000, rel=0.02)
    assert report["out_of_band"] == ["44190010100203"]
    overlays = client.get("/api/v1/grids/overlays", headers=h).json()
    assert [o["code"] for o in overlays] == ["police"]
    fc = client.get("/api/v1/grids/overlays/police", headers=h).json()
    assert {g["grid"] for g in fc["features"][0]["properties"]["grids"]} == {
        "44190010100201",
        "44190010100202",
        "44190010100203",
    }
    login_in(client, chief.username)
    page = client.get("/grids/map", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "/static/leaflet/leaflet.js" in page.text and 'id="grid-card-open-cases"' in page.text
    checks = client.get("/grids/checks", headers={"Accept": "text/html"})
    assert (
        checks.status_code == 200
        and "44190010100203" in checks.text
        and "household_band" in checks.text
    )


def login_in(client, username: str) -> None:  # type: ignore[no-untyped-def]
    """A browser-style login: fetch the form's CSRF token, post the form."""
    import re

    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code in (200, 303), r.text


def test_map_page_needs_login(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/grids/map", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


@pytest.fixture
def committed_grid(engine) -> Iterator[Grid]:  # type: ignore[no-untyped-def]
    """A grid committed for real (the live server sees only committed data), removed after."""
    from sqlalchemy import text

    from civgrid.db.session import session_factory

    with session_factory()() as db:
        grid = create_grid(
            db, GridDraft("441900101213", sq(0, 0, 100, 100), "黄泗围一", 310), actor=None
        )
        yield grid
        db.rollback()  # hold no lock on grid_versions while the owner alters it
        # grid_versions is append-only: lift the guard only to clean up this test's rows
        if db.get_bind().dialect.name == "sqlite":
            db.execute(text("DROP TRIGGER grid_versions_no_delete"))
            db.execute(delete(GridVersion).where(GridVersion.grid_id == grid.id))
            db.execute(
                text(
                    "CREATE TRIGGER grid_versions_no_delete BEFORE DELETE ON grid_versions "
                    "BEGIN SELECT RAISE(ABORT, 'grid_versions is append-only'); END"
                )
            )
        else:  # only the owner may; the app's role may not (civgrid.db.roles)
            owner = create_engine(OWNER_URL["url"])
            with owner.begin() as conn:
                conn.execute(
                    text("ALTER TABLE grid_versions DISABLE TRIGGER grid_versions_append_only")
                )
                conn.execute(delete(GridVersion).where(GridVersion.grid_id == grid.id))
                conn.execute(
                    text("ALTER TABLE grid_versions ENABLE TRIGGER grid_versions_append_only")
                )
            owner.dispose()
        db.execute(delete(Grid).where(Grid.id == grid.id))
        db.commit()


def test_geojson_over_real_http(live_server: str, committed_grid: Grid) -> None:
    """The live server sees committed data only: a committed grid and a throw-away user."""
    import uuid

    from civgrid.auth.actions import create_user
    from civgrid.auth.models import Role, ScopeKind, User
    from civgrid.db.session import session_factory

    username = f"live-grids-{uuid.uuid4().hex[:8]}"
    with session_factory()() as db:
        user = create_user(
            db,
            username=username,
            password=PASSWORD,
            role=Role.DISPATCHER,
            scopes=[(ScopeKind.DIVISION, "441900101213")],
            actor=None,
        )
    try:
        with httpx.Client(base_url=live_server) as http:
            token = http.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            ).json()["access_token"]
            h = {"Authorization": f"Bearer {token}"}
            fc = http.get("/api/v1/grids", headers=h).json()
            assert [f["properties"]["code"] for f in fc["features"]] == [committed_grid.code]
            point = {"lon": LON + 50 * MX, "lat": LAT + 50 * M}
            loc = http.get("/api/v1/grids/locate", params=point, headers=h).json()
            assert loc["grid_code"] == committed_grid.code
    finally:
        # the audit log refers to the user, so it is deactivated rather than deleted
        with session_factory()() as db:
            db.get_one(User, user.id).is_active = False
            db.commit()


def test_household_band_is_a_setting(db, two_grids, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from civgrid.config import get_settings
    from civgrid.grids.service import check_territory

    assert check_territory(db, VILLAGE)[VILLAGE].out_of_band == []
    monkeypatch.setattr(get_settings(), "grid_households_min", 380)
    assert check_territory(db, VILLAGE)[VILLAGE].out_of_band == ["44190010100202"]


def test_grid_list_query_count_does_not_grow(
    client, make_user, bearer, two_grids, db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Query-count baseline: listing 2 or 8 grids (with members) costs the same queries."""
    from sqlalchemy import event

    from civgrid.db import cache
    from civgrid.grids.actions import set_grid_members

    chief = make_user("duty_chief", ("division", "441900101"))
    h = bearer(chief)
    statements: list[str] = []
    # The remembered token must stay remembered however slowly the machine runs: caches are
    # otherwise refreshed after RECHECK_S (2 s), which adds the token's lookup to one count.
    monkeypatch.setattr(cache, "RECHECK_S", 3600.0)

    def count(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        statements.append(args[2])

    engine = db.get_bind().engine
    client.get("/api/v1/grids", headers=h)  # the token's first use looks it up; later ones don't
    db.commit()  # both counted requests then start a transaction, as the second one does
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/api/v1/grids", headers=h)
        small = len(statements)
        for i in range(6):
            grid = create_grid(
                db, GridDraft(VILLAGE, sq(300 + i * 10, 0, 310 + i * 10, 10), f"g{i}"), actor=None
            )
            set_grid_members(db, grid, user_ids=[chief.id], actor=None)
        statements.clear()
        fc = client.get("/api/v1/grids", headers=h).json()
        assert len(fc["features"]) == 8
        assert len(statements) == small
    finally:
        event.remove(engine, "before_cursor_execute", count)
