"""The grid directory: every current grid with staff work contacts, the card with the
supervision channel, public outlines, and "which grid am I in?" (never stored)."""

from __future__ import annotations

import json
import re

from shapely.geometry import box, shape

from civgrid.auth.actions import deactivate_user
from civgrid.auth.models import Role
from civgrid.cases.actions import report_case
from civgrid.cases.actions.intake import Contact
from civgrid.cases.models import CaseSource
from civgrid.grids.actions import GridDraft, create_grid, retire_grid, set_grid_members
from tests.board.conftest import count_statements
from tests.cases.factories import HALF, LAT, LON
from tests.directory.conftest import VILLAGE, Directory, staff


def test_anonymous_directory_lists_grids_by_village_with_work_contacts(
    directory: Directory,
) -> None:
    html = directory.html("/directory?lang=zh_CN")
    g = directory.grid
    assert "网格公示" in html and 'aria-current="page"' in html
    assert "城中社区居民委员会" in html  # grouped under the village's name
    assert f'href="/directory/grids/{g.code}"' in html and "测试网格" in html
    assert "综合网格" in html
    assert f"{g.households} 户" in html and "平方千米" in html
    assert "黄伟" in html and 'href="tel:0769-88881006"' in html
    assert "张丽" in html and 'href="tel:0769-88881007"' in html and "(网格员)" in html


def test_search_by_name_or_code(directory: Directory) -> None:
    other = create_grid(
        directory.db,
        GridDraft(VILLAGE, box(LON + HALF, LAT - HALF, LON + 3 * HALF, LAT + HALF), "东门网格"),
        actor=None,
    )
    codes = re.compile(r'href="/directory/grids/(\d+)"')
    assert codes.findall(directory.html("/directory?q=东门")) == [other.code]
    assert codes.findall(directory.html(f"/directory?q={directory.grid.code}")) == [
        directory.grid.code
    ]
    assert codes.findall(directory.html(f"/directory?q={VILLAGE}")) == sorted(
        [directory.grid.code, other.code]
    )
    assert codes.findall(directory.html("/directory?q=%25")) == []  # LIKE wildcards are literal
    assert "没有匹配的网格" in directory.html("/directory?q=nothing&lang=zh_CN")
    assert directory.client.get("/directory?q=" + "x" * 51).status_code == 422


def test_retired_grids_are_not_listed(directory: Directory) -> None:
    retire_grid(directory.db, directory.grid, actor=None, note="merged into a neighbour")
    assert directory.grid.code not in directory.html("/directory")
    directory.html(f"/directory/grids/{directory.grid.code}", status=404)
    features = directory.client.get("/directory/grids.geojson").json()["features"]
    assert features == []


def test_grid_card_has_staff_contacts_and_the_supervision_channel(directory: Directory) -> None:
    g = directory.grid
    html = directory.html(f"/directory/grids/{g.code}?lang=zh_CN")
    assert "测试网格" in html and g.code in html
    assert "城中社区居民委员会" in html and "石碣镇" in html
    assert "黄伟" in html and "tel:0769-88881006" in html
    assert "张丽" in html and "tel:0769-88881007" in html and "网格员" in html
    assert f'href="/portal/complain?grid={g.code}"' in html and "投诉本网格工作人员" in html
    assert "不会转给被投诉人" in html
    assert "石碣镇网格化服务管理中心" in html and "tel:0769-88889007" in html
    assert f'href="/board?grid={g.code}"' in html
    en = directory.html(f"/directory/grids/{g.code}?lang=en")
    assert "Complain about this grid&#39;s staff" in en and "Township grid office" in en


def test_unknown_grid_card_is_404(directory: Directory) -> None:
    html = directory.html("/directory/grids/44190010100299", status=404)
    assert "页面不存在" in html  # the English detail is not shown on a Chinese page


def test_only_active_staff_work_contacts_are_published(directory: Directory) -> None:
    gone = staff(directory.db, "left_staff", Role.GRID_WORKER, "离职员工", "0769-88880000")
    silent = staff(directory.db, "no_phone", Role.GRID_WORKER, "王芳", None)
    ids = [directory.worker.id, gone.id, silent.id]
    set_grid_members(directory.db, directory.grid, user_ids=ids, actor=None)
    deactivate_user(directory.db, gone, actor=None)
    # A resident's report in the grid, with a contact: none of it belongs in the directory.
    report_case(
        directory.db,
        source=CaseSource.PORTAL,
        category=_any_public_category(directory),
        lon=directory.lon,
        lat=directory.lat,
        description="门口垃圾",
        contact=Contact(phone="13912345678", email="resident@example.com"),
    )
    for url in ("/directory?lang=zh_CN", f"/directory/grids/{directory.grid.code}?lang=zh_CN"):
        html = directory.html(url)
        assert "离职员工" not in html and "0769-88880000" not in html
        assert "王芳" in html and "暂无工作电话" in html
        for private in ("13912345678", "resident@example.com", "门口垃圾", "leader_huang"):
            assert private not in html  # no resident data; staff login names neither


def _any_public_category(directory: Directory):  # type: ignore[no-untyped-def]
    from tests.cases.factories import categories, department

    listed, _major, _unlisted = categories(directory.db, department(directory.db, "T-CG", "城管"))
    return listed


def test_grid_outlines_geojson(directory: Directory) -> None:
    data = directory.client.get("/directory/grids.geojson").json()
    (feature,) = data["features"]
    g = directory.grid
    assert feature["properties"] == {
        "code": g.code,
        "name": "测试网格",
        "kind": "comprehensive",
        "url": f"/directory/grids/{g.code}",
    }
    assert shape(feature["geometry"]).equals(shape(json.loads(g.geometry)))
    village = directory.client.get(f"/directory/grids.geojson?village={VILLAGE}").json()
    assert len(village["features"]) == 1
    assert directory.client.get("/directory/grids.geojson?village=441900101003").json() == {
        "type": "FeatureCollection",
        "features": [],
    }
    assert directory.client.get("/directory/grids.geojson?village=abc").status_code == 422


def test_locate_finds_the_grid_and_stores_nothing(directory: Directory) -> None:
    with count_statements(directory.db) as seen:
        r = directory.client.post(
            "/directory/locate", json={"lon": directory.lon, "lat": directory.lat}
        )
    assert r.status_code == 200
    g = directory.grid
    assert r.json() == {"code": g.code, "name": "测试网格", "url": f"/directory/grids/{g.code}"}
    assert r.headers["cache-control"] == "no-store"
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []  # the position is looked up, never stored (no audit row either)


def test_locate_outside_the_territory_is_a_clear_404(directory: Directory) -> None:
    r = directory.client.post("/directory/locate", json={"lon": 116.39, "lat": 39.9})
    assert r.status_code == 404
    assert r.json() == {
        "detail": "this point is not inside any grid of the service area",
        "code": "not_found",
    }


def test_locate_refuses_bad_points_and_urls_with_coordinates(directory: Directory) -> None:
    for body in ({"lon": 200, "lat": 23}, {"lon": "east", "lat": 23}, {"lat": 23}):
        r = directory.client.post("/directory/locate", json=body)
        assert r.status_code == 422
        assert r.json()["code"] == "invalid"
    # Coordinates never travel in a URL (access logs would keep them).
    r = directory.client.get(f"/directory/locate?lon={directory.lon}&lat={directory.lat}")
    assert r.status_code == 405


def test_directory_query_count_does_not_grow_with_grids(directory: Directory) -> None:
    def queries() -> int:
        with count_statements(directory.db) as seen:
            directory.html("/directory")
        return len(seen)

    few = queries()
    for i in range(1, 4):
        square = box(LON + (2 * i - 1) * HALF, LAT - HALF, LON + (2 * i + 1) * HALF, LAT + HALF)
        grid = create_grid(directory.db, GridDraft(VILLAGE, square, f"网格{i}"), actor=None)
        helper = staff(directory.db, f"w{i}", Role.GRID_WORKER, f"网格员{i}", f"0769-8888200{i}")
        grid.leader_id = directory.leader.id
        set_grid_members(directory.db, grid, user_ids=[helper.id], actor=None)
    assert directory.html("/directory").count('class="grid-entry"') == 4
    assert queries() == few
    assert few <= 6  # grids, their members, the staff, the village names, savepoint, rollback
