"""A patrol on a phone (390×844) in real Chromium: a fake position walks along a demo street,
the network drops in the middle and comes back; the track arrives complete and exactly once.
Then the replay is shown and screenshotted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from shapely.geometry import LineString, shape
from sqlalchemy import func, select

from civgrid.divisions.models import Division
from civgrid.grids.demo_territory import TOWNSHIP, generate_territory
from civgrid.workforce.models import Patrol, PatrolPoint
from civgrid.workforce.track import Fix, haversine_m
from tests.desk.test_browser import PHONE, login

pytestmark = pytest.mark.browser


def street_walk(context: Any, base: str, db: Any, steps: int) -> list[tuple[float, float]]:
    """``steps`` positions 5 m apart along the demo street crossing the worker's first grid."""
    grid = shape(context.request.get(base + "/api/v1/grids").json()["features"][0]["geometry"])
    villages = sorted(db.scalars(select(Division.code).where(Division.parent_code == TOWNSHIP)))
    roads = [g for _, g in generate_territory(villages).roads if not g.is_empty]
    along = max((r.intersection(grid) for r in roads), key=lambda g: g.length)
    line = along if isinstance(along, LineString) else max(along.geoms, key=lambda g: g.length)
    step = 5 / 111_000  # about 5 m in degrees
    return [line.interpolate(i * step).coords[0] for i in range(steps)]


def test_a_patrol_survives_a_dead_network_and_arrives_once(browser, demo_site, screenshot) -> None:  # type: ignore[no-untyped-def]
    base = demo_site.base
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "worker")
    with demo_site.sessions() as db:
        walk = street_walk(ctx, base, db, 24)
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation({"longitude": walk[0][0], "latitude": walk[0][1]})
    page.goto(base + "/field/patrol?every=1")
    page.click("#patrol-start")
    page.wait_for_selector("#patrol[data-state=open]")

    def walk_to(points: list[tuple[float, float]]) -> None:
        for lon, lat in points:
            ctx.set_geolocation({"longitude": lon, "latitude": lat})
            time.sleep(1.1)

    walk_to(walk[:8])
    ctx.set_offline(True)
    walk_to(walk[8:16])
    page.wait_for_selector("#patrol[data-online='0']", timeout=15_000)
    assert int(page.get_attribute("#patrol", "data-queued")) >= 6  # kept on the phone
    ctx.set_offline(False)
    page.reload()  # what is queued in IndexedDB survives the reload
    page.wait_for_selector("#patrol[data-state=open]")
    walk_to(walk[16:])
    page.click("#patrol-end")
    page.wait_for_selector("#patrol[data-state=ended]", timeout=20_000)
    screenshot(page, "field")

    with demo_site.sessions() as db:
        patrol = db.scalars(select(Patrol).order_by(Patrol.id.desc())).first()
        times = db.scalars(select(PatrolPoint.at).where(PatrolPoint.patrol_id == patrol.id)).all()
        assert patrol.state == "closed"
        assert len(times) == len(set(times))
        assert len(times) >= 22  # one position per step, at least (a step may be seen twice)
        first = db.scalar(
            select(PatrolPoint.lon)
            .where(PatrolPoint.patrol_id == patrol.id)
            .order_by(PatrolPoint.at)
            .limit(1)
        )
        assert first == pytest.approx(walk[0][0], abs=1e-6)
        count = db.scalar(
            select(func.count()).select_from(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id)
        )
        assert patrol.point_count == count
        walked = sum(
            haversine_m(Fix(0, *a), Fix(0, *b)) for a, b in zip(walk, walk[1:], strict=False)
        )
        assert walked > 50
        assert patrol.distance_m == pytest.approx(walked, rel=0.05)

    page.goto(f"{base}/workforce/patrols/{patrol.id}/replay")
    page.wait_for_selector("#replay[data-loaded]")
    assert int(page.get_attribute("#replay", "data-loaded")) == count
    page.select_option("#replay-speed", "20")
    page.click("#replay-play")
    page.wait_for_timeout(600)
    page.click("#replay-pause")
    assert float(page.get_attribute("#replay", "data-t")) > patrol.started_at.timestamp() - 300
    screenshot(page, "replay")
    ctx.close()
