"""Lists by keyset: cursors walk every case once while new ones arrive, totals are capped,
lights come from SQL, the minute refresh answers 304, the map groups but counts every case."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from civgrid.calendar.service import get_calendar
from civgrid.db.base import utcnow
from civgrid.desk import service
from tests.desk.conftest import World


def walk(view_of: Any) -> list[str]:
    """Case numbers of every page, following ``next`` cursors."""
    seen: list[str] = []
    cursor = None
    while True:
        view = view_of(cursor)
        seen += [r.case.number for r in view.rows]
        if view.next is None:
            return seen
        cursor = view.next


def test_a_cursor_walk_sees_each_case_once_while_new_ones_arrive(world: World) -> None:
    made = [world.drive(world.report(), "register") for _ in range(7)]
    arrived: list[str] = []

    def page(cursor: str | None) -> service.ListView:
        view = service.desk_list(world.db, world.dispatcher, "to_dispatch", size=2, cursor=cursor)
        arrived.append(world.drive(world.report(), "register").number)  # meanwhile, a new one
        return view

    seen = walk(page)
    assert len(seen) == len(set(seen))  # no duplicates
    assert {c.number for c in made} <= set(seen)  # no omissions
    first = service.desk_list(world.db, world.dispatcher, "to_dispatch", size=2)
    second = service.desk_list(world.db, world.dispatcher, "to_dispatch", size=2, cursor=first.next)
    assert second.previous is not None
    back = service.desk_list(
        world.db, world.dispatcher, "to_dispatch", size=2, cursor=second.previous
    )
    assert [r.case.number for r in back.rows] == [r.case.number for r in first.rows]


def test_emergencies_come_first_and_lights_match_the_calendar(world: World) -> None:
    plain = world.report()
    urgent = world.report(priority="emergency")
    view = service.desk_list(world.db, world.dispatcher, "incoming")
    numbers = [r.case.number for r in view.rows]
    assert numbers.index(urgent.number) < numbers.index(plain.number)
    cal, now = get_calendar(world.db), utcnow()
    for row in view.rows:
        c = row.case
        assert c.due_at and c.stage_started_at and c.due_unit and c.yellow_at
        assert row.light == cal.light(c.stage_started_at, c.due_at, now, c.due_unit)


def test_totals_are_capped_and_the_desk_links_to_the_whole_list(
    world: World, client: TestClient, as_user, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        world.report()
    monkeypatch.setattr(service, "COUNT_CAP", 3)
    monkeypatch.setattr(service, "PREVIEW", 2)
    view = service.desk_list(world.db, world.dispatcher, "incoming", size=2)
    assert (view.total, view.more_than_total, view.partial) == (3, True, True)
    as_user(world.dispatcher)
    html = client.get("/desk/command", headers={"Accept-Language": "en"}).text
    assert "3+" in html and 'href="/desk/lists/incoming"' in html
    full = client.get("/desk/lists/incoming?lang=en")
    assert full.status_code == 200 and full.text.count('class="number"') == 4


def test_the_minute_refresh_answers_304_until_something_changes(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.dispatcher)
    first = client.get("/desk/command/fragment")
    tag = first.headers["etag"]
    assert first.status_code == 200 and case.number in first.text
    again = client.get("/desk/command/fragment", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    world.drive(case, "register")
    changed = client.get("/desk/command/fragment", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_bad_cursors_get_a_localized_400(world: World, client: TestClient, as_user, bearer) -> None:  # type: ignore[no-untyped-def]
    as_user(world.dispatcher)
    r = client.get("/desk/lists/incoming?cursor=forged.abc", headers={"Accept": "text/html"})
    assert r.status_code == 400 and "此翻页链接无效" in r.text
    api = client.get(
        "/api/v1/cases?cursor=forged.abc",
        headers={**bearer(world.dispatcher), "Accept-Language": "zh-CN"},
    )
    assert api.status_code == 400
    assert api.json()["code"] == "bad_cursor" and "此翻页链接无效" in api.json()["message"]
    board = client.get("/board?cursor=forged.abc&lang=en", headers={"Accept": "text/html"})
    assert board.status_code == 400 and "this page link is not valid" in board.text


def test_a_cursor_of_one_list_is_refused_by_another(world: World) -> None:
    for _ in range(3):
        world.drive(world.report(), "register")
    view = service.desk_list(world.db, world.dispatcher, "to_dispatch", size=1)
    assert view.next
    with pytest.raises(service.keyset.BadCursor):
        service.desk_list(world.db, world.dispatcher, "incoming", cursor=view.next)


def test_the_api_walks_by_cursor_with_a_link_header(
    world: World, client: TestClient, bearer
) -> None:  # type: ignore[no-untyped-def]
    made = {world.report().number for _ in range(5)}
    h = bearer(world.dispatcher)
    url, seen = "/api/v1/cases?limit=2", []
    while url:
        r = client.get(url, headers=h)
        assert r.status_code == 200
        seen += [c["number"] for c in r.json()]
        world.report()  # a new case arrives between pages: it is newer, not on later pages
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
        if link:
            assert r.headers["next-cursor"] in url and 'rel="next"' in link
    assert len(seen) == len(set(seen)) and made <= set(seen)
    old = client.get("/api/v1/cases?limit=2&offset=2", headers=h)
    assert old.status_code == 200 and len(old.json()) == 2
    assert client.get("/api/v1/cases?offset=10001", headers=h).status_code == 422


def test_the_map_groups_many_cases_and_counts_every_one(
    world: World, client: TestClient, as_user, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        world.report(lon=world.lon + i * 1e-4)
    as_user(world.dispatcher)
    points = client.get("/desk/map/cases.geojson").json()
    assert points["total"] == 6 and len(points["features"]) == 6
    monkeypatch.setattr(service, "MAP_POINTS", 3)
    grouped = client.get("/desk/map/cases.geojson").json()
    assert grouped["total"] == 6
    assert all("url" not in f["properties"] for f in grouped["features"])
    assert sum(f["properties"]["count"] for f in grouped["features"]) == 6
    box = f"{world.lon - 0.01},{world.lat - 0.01},{world.lon + 0.01},{world.lat + 0.01}"
    boxed = client.get(f"/desk/map/cases.geojson?bbox={box}").json()
    assert sum(f["properties"]["count"] for f in boxed["features"]) == boxed["total"] == 6
    away = client.get("/desk/map/cases.geojson?bbox=100,10,100.1,10.1").json()
    assert away["total"] == 0 and away["features"] == []
    assert client.get("/desk/map/cases.geojson?bbox=1,2,3").status_code == 422
