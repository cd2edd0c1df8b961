"""The desk lists: source, grid name and a lazy photo thumbnail per case; the in-progress list;
the grid map keeps the role's menu; the header names the role once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from civgrid.grids.service import grid_name
from tests.desk.conftest import World


def _item(html: str, number: str) -> str:
    """The list item of case ``number`` in a desk list."""
    match = re.search(
        rf'<li class="case-item[^"]*">(?:(?!</li>).)*?/desk/cases/{number}"(?:(?!</li>).)*</li>',
        html,
        re.S,
    )
    assert match is not None, number
    return match.group(0)


def test_list_items_show_source_grid_name_and_thumbnail(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    plain = world.report()
    handled = world.drive(world.report(), "register", "dispatch", "accept", "handle")
    as_user(world.dispatcher)
    page = client.get("/desk/command").text
    name = grid_name(world.db, world.grid_code)
    assert name
    item = _item(page, plain.number)
    assert '<span class="source">网格员巡查</span>' in item
    assert name in item and world.grid_code not in item  # the grid by name, not by code
    assert "<img" not in item  # no photo, no thumbnail
    item = _item(page, handled.number)
    [photo] = re.findall(rf'src="/desk/cases/{handled.number}/photos/(\d+)/thumb"', item)
    assert 'loading="lazy"' in item
    thumb = client.get(f"/desk/cases/{handled.number}/photos/{photo}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


def test_a_dispatched_case_is_followed_in_progress(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch")
    as_user(world.dispatcher)
    page = client.get("/desk/command").text
    in_progress = page.split('id="q-progress"')[1].split("</section>")[0]
    assert f"/desk/cases/{case.number}" in in_progress
    assert (
        f"/desk/cases/{case.number}" not in page.split('id="q-dispatch"')[1].split("</section>")[0]
    )
    world.drive(case, "accept", "handle")  # handled, waiting for verification: still followed
    page = client.get("/desk/command").text
    assert f"/desk/cases/{case.number}" in page.split('id="q-progress"')[1].split("</section>")[0]
    world.drive(case, "verify", "close")
    page = client.get("/desk/command").text
    assert f"/desk/cases/{case.number}" not in page


def test_the_grid_map_keeps_the_roles_menu(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    as_user(world.dispatcher)
    for path in ("/grids/map", "/grids/checks"):
        page = client.get(path).text
        nav = page.split('<nav aria-label="')[1].split("</nav>")[0]
        assert 'href="/desk/command"' in nav and 'href="/desk/intake"' in nav
        assert 'href="/grids/map" aria-current="page"' in nav
    assert 'href="/grids/checks' in client.get("/grids/map").text  # linked from the page


def test_the_header_names_the_role_once(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    world.dispatcher.display_name = "派遣员 李娜"
    world.db.commit()
    as_user(world.dispatcher)
    for lang in ("zh_CN", "en"):
        page = client.get("/desk/command", params={"lang": lang}).text
        who = page.split('<span class="who">')[1].split("</span>\n")[0]
        assert "李娜" in who
        assert "· 派遣员" not in who and "· Dispatcher" not in who
    world.dispatcher.display_name = "李娜"
    world.db.commit()
    for lang, role in (("zh_CN", "派遣员"), ("en", "Dispatcher")):
        page = client.get("/desk/command", params={"lang": lang}).text
        assert f"· {role}</span>" in page.split('<span class="who">')[1]
