"""Each desk page for the right role (200), a wrong role (403), outside jurisdiction (404)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from civgrid.cases.models import Case
from tests.desk.conftest import World, count_statements

PAGES = {
    "/desk/command": "dispatcher",
    "/desk/command/fragment": "dispatcher",
    "/desk/overdue": "dispatcher",
    "/desk/map": "dispatcher",
    "/desk/queue": "handler",
    "/field": "worker",
    "/field/report": "worker",
}


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    r = client.get("/desk/command", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


@pytest.mark.parametrize(("path", "who"), sorted(PAGES.items()))
def test_right_role_sees_the_page(
    world: World, client: TestClient, as_user, path: str, who: str
) -> None:  # type: ignore[no-untyped-def]
    as_user(getattr(world, who))
    r = client.get(path)
    assert r.status_code == 200
    assert 'name="csrf-token"' in r.text or "hx-" not in r.text


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/desk/command", "handler"),
        ("/desk/command", "worker"),
        ("/desk/queue", "dispatcher"),
        ("/desk/queue", "worker"),
        ("/field", "handler"),
        ("/field/report", "dispatcher"),
        ("/desk/leader", "worker"),
        ("/desk/map", "handler"),
    ],
)
def test_wrong_role_is_refused(
    world: World, client: TestClient, as_user, path: str, who: str
) -> None:  # type: ignore[no-untyped-def]
    as_user(getattr(world, who))
    assert client.get(path).status_code == 403


def test_grid_leader_view(world: World, client: TestClient, as_user, make_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch", "accept", "handle")
    leader = make_user("grid_leader", ("division", world.village))
    as_user(leader)
    r = client.get("/desk/leader")
    assert r.status_code == 200
    assert case.number in r.text.split("h-over")[0]  # listed under "waiting on you"


@pytest.mark.parametrize(
    "landing",
    [
        ("dispatcher", "/desk/command"),
        ("handler", "/desk/queue"),
        ("worker", "/field"),
        ("admin", "/desk/command"),
    ],
)
def test_each_role_lands_on_its_page(
    world: World, client: TestClient, as_user, landing: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    who, path = landing
    as_user(getattr(world, who))
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == path


def test_navigation_shows_only_the_roles_pages(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    as_user(world.handler)
    text = client.get("/desk/queue").text
    assert 'href="/desk/queue"' in text
    assert 'href="/desk/command"' not in text
    assert 'href="/field/report"' not in text


def test_case_page_outside_jurisdiction_is_404(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.outsider)
    assert client.get(f"/desk/cases/{case.number}").status_code == 404
    assert client.get("/desk/cases/NOPE-1").status_code == 404
    as_user(world.other_handler)  # another department: not dispatched to it
    assert client.get(f"/desk/cases/{case.number}").status_code == 404


def test_case_page_for_staff_in_scope(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch", "accept", "handle")
    as_user(world.dispatcher)
    r = client.get(f"/desk/cases/{case.number}")
    assert r.status_code == 200
    assert "/thumb" in r.text  # the after-photo's thumbnail
    assert r.text.count("<li><time") >= 5  # report … handle on the timeline
    thumb = client.get(f"/desk/cases/{case.number}/photos/{_first_photo(r.text)}/thumb")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"


def post(client: TestClient, url: str, **kw: Any) -> Any:
    return client.post(url, follow_redirects=False, **kw)


def _first_photo(html: str) -> str:
    return html.split("/photos/")[1].split("/")[0]


def test_action_form_needs_csrf(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.dispatcher)
    r = post(client, f"/desk/cases/{case.number}/act/register", data={})
    assert r.status_code == 403
    world.db.refresh(case)
    assert case.state.value == "reported"


def test_reject_needs_a_reason(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    token = as_user(world.dispatcher)
    url = f"/desk/cases/{case.number}/act/reject"
    r = post(client, url, data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    world.db.refresh(case)
    assert case.state.value == "reported"
    r = post(client, url, data={"csrf_token": token, "reason": "不属于城管事项"})
    assert r.status_code == 303
    world.db.refresh(case)
    assert case.state.value == "rejected"


def test_return_needs_a_reason_and_handle_needs_a_photo(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register", "dispatch")
    token = as_user(world.handler)
    base = f"/desk/cases/{case.number}/act"
    assert post(client, f"{base}/return", data={"csrf_token": token}).status_code == 422
    assert post(client, f"{base}/accept", data={"csrf_token": token}).status_code == 303
    r = post(client, f"{base}/handle", data={"csrf_token": token, "feedback": "已清理"})
    assert r.status_code == 422
    world.db.refresh(case)
    assert case.state.value == "accepted"


def test_dispatch_shows_the_suggestion_and_allows_override(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register")
    token = as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{case.number}").text
    assert f'<option value="{world.dept.code}" selected' in page
    r = post(
        client,
        f"/desk/cases/{case.number}/act/dispatch",
        data={"csrf_token": token, "department": world.dept2.code},
    )
    assert r.status_code == 303
    world.db.refresh(case)
    assert case.department_code == world.dept2.code


def test_a_refused_step_attaches_no_photo(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.desk.conftest import png_bytes

    case = world.report()  # reported: cannot be handled yet
    token = as_user(world.handler)
    r = post(
        client,
        f"/desk/cases/{case.number}/act/handle",
        data={"csrf_token": token, "feedback": "x"},
        files=[("photos", ("p.png", png_bytes(), "image/png"))],
    )
    assert r.status_code == 404  # not dispatched to this department: outside its scope
    as_user(world.admin)
    r = post(
        client,
        f"/desk/cases/{case.number}/act/verify",
        data={"csrf_token": token},
        files=[("photos", ("p.png", png_bytes(), "image/png"))],
    )
    assert r.status_code in (403, 409)
    assert world.db.query(Case).filter_by(id=case.id).one().state.value == "reported"


def test_field_report_with_self_handling(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.desk.conftest import png_bytes

    token = as_user(world.worker)
    picker = client.get("/field/categories", params={"q": world.category.name_zh[:2]})
    assert f'value="{world.category.id}"' in picker.text
    form: dict[str, Any] = {
        "csrf_token": token,
        "category_id": str(world.category.id),
        "description": "井盖松动",
        "lon": str(world.lon),
        "lat": str(world.lat),
        "self_handle": "1",
        "self_note": "已现场复位",
    }
    r = post(
        client, "/field/report", data=form, files=[("photos", ("p.png", png_bytes(), "image/png"))]
    )
    assert r.status_code == 303
    number = r.headers["location"].split("reported=")[1]
    case = world.db.query(Case).filter_by(number=number).one()
    assert case.state.value == "closed"


def test_field_report_errors_keep_the_form(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    token = as_user(world.worker)
    form = {"csrf_token": token, "category_id": str(world.category.id), "description": "路灯不亮"}
    before = world.db.query(Case).count()
    r = post(client, "/field/report", data=form)
    assert r.status_code == 422
    assert "路灯不亮" in r.text
    assert world.db.query(Case).count() == before


def test_list_pages_use_a_fixed_number_of_statements(
    world: World, client: TestClient, as_user, db
) -> None:  # type: ignore[no-untyped-def]
    """Guard against N+1: ten more cases in every queue do not add statements."""
    as_user(world.dispatcher)

    def statements(path: str) -> int:
        with count_statements(db) as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    def add_cases(n: int) -> None:
        for _ in range(n):
            world.drive(world.report(), "register", "dispatch", "accept", "handle", "verify")
            world.report()

    add_cases(1)
    few = {p: statements(p) for p in ("/desk/command", "/desk/overdue")}
    add_cases(5)
    many = {p: statements(p) for p in ("/desk/command", "/desk/overdue")}
    assert many == few
    # Seven lists, each read in two keyset segments (emergencies, then the rest, each in an
    # index's order) and counted up to its cap: 21, and the session's own statements.
    assert few["/desk/command"] <= 26


def test_map_data_for_the_command_center(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    case = world.drive(world.report(), "register")
    as_user(world.dispatcher)
    cases = client.get("/desk/map/cases.geojson").json()
    [feature] = [f for f in cases["features"] if f["properties"]["number"] == case.number]
    assert feature["geometry"]["coordinates"] == [world.lon, world.lat]
    assert feature["properties"]["light"] in ("green", "yellow", "red")
    grids = client.get("/api/v1/grids").json()  # the map draws the grids API
    assert world.grid_code in [f["properties"]["code"] for f in grids["features"]]
    as_user(world.outsider)
    numbers = [
        f["properties"]["number"] for f in client.get("/desk/map/cases.geojson").json()["features"]
    ]
    assert case.number not in numbers


def test_register_shows_likely_duplicates(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    first = world.report()
    second = world.report()
    as_user(world.dispatcher)
    page = client.get(f"/desk/cases/{second.number}").text
    assert 'id="h-dups"' in page
    assert f'href="/desk/cases/{first.number}"' in page


def test_a_failed_verification_says_so(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.desk.conftest import png_bytes

    case = world.drive(world.report(), "register", "dispatch", "accept", "handle")
    token = as_user(world.worker)
    r = post(
        client,
        f"/desk/cases/{case.number}/act/verify",
        data={"csrf_token": token, "result": "fail", "note": "垃圾仍未清走"},
        files=[("photos", ("p.png", png_bytes(), "image/png"))],
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "核查不通过：案件退回返工。" in page
    assert "核查通过。" not in page
    world.db.refresh(case)
    assert case.state.value == "rework"
