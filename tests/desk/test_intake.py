"""Taking a phone report at the command center (12345 hotline, walk-in window): who may, what
it stores, and what a refused form says and keeps."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civgrid.audit.models import AuditEvent
from civgrid.cases import actions
from civgrid.cases.models import Case, CaseEvent, CaseSource
from civgrid.cases.transitions import CaseAction
from civgrid.errors import Forbidden, Invalid
from civgrid.ledger.actions import add_record
from civgrid.ledger.models import LedgerKind
from tests.desk.conftest import World

TOWNSHIP = ("division", "441900101")
ROLES: list[tuple[str, tuple[str, str], bool]] = [
    ("dispatcher", TOWNSHIP, True),
    ("duty_chief", TOWNSHIP, True),
    ("admin", ("all", ""), True),
    ("grid_leader", ("division", "441900101002"), False),
    ("grid_worker", ("division", "441900101002"), False),
    ("supervisor", TOWNSHIP, False),
    ("dept_handler", ("department", "T-CG"), False),
]


def post(client: TestClient, url: str, **kw: Any) -> Any:
    return client.post(url, follow_redirects=False, **kw)


def form(world: World, token: str, **kw: str) -> dict[str, str]:
    values = {
        "csrf_token": token,
        "source": "hotline",
        "caller_name": "王女士",
        "phone": "138 0013 8000",
        "q": world.category.name_zh[:2],
        "category_id": str(world.category.id),
        "description": "小区门口垃圾堆放三天没人清",
        "lon": str(world.lon),
        "lat": str(world.lat),
        "address": "石龙路12号",
    }
    values.update(kw)
    return values


@pytest.mark.parametrize(("role", "where", "allowed"), ROLES)
def test_who_may_take_a_phone_report(
    world: World, client: TestClient, as_user, make_user, role: str, where: Any, allowed: bool
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(role, where)
    token = as_user(user)
    page = client.get("/desk/intake")
    assert page.status_code == (200 if allowed else 403)
    before = world.db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    r = post(client, "/desk/intake", data=form(world, token))
    assert r.status_code == (303 if allowed else 403)
    last = world.db.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    assert (last != before) is allowed
    # the same rule in the action, for any other caller of it
    if not allowed:
        with pytest.raises(Forbidden):
            actions.take_call(
                world.db,
                actor=user,
                source=CaseSource.HOTLINE,
                category=world.category,
                lon=world.lon,
                lat=world.lat,
                description="x",
            )


def test_the_menu_offers_it_to_the_command_center_only(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    as_user(world.dispatcher)
    assert 'href="/desk/intake"' in client.get("/desk/command").text
    as_user(world.worker)
    assert 'href="/desk/intake"' not in client.get("/field").text


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    r = client.get("/desk/intake", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


@pytest.mark.parametrize("source", ["hotline", "walk_in"])
def test_a_phone_report_is_the_same_intake_with_its_source(
    world: World, client: TestClient, as_user, source: str
) -> None:  # type: ignore[no-untyped-def]
    token = as_user(world.dispatcher)
    r = post(client, "/desk/intake", data=form(world, token, source=source))
    assert r.status_code == 303
    number = r.headers["location"].split("/desk/cases/")[1].split("?")[0]
    world.db.expire_all()
    case = world.db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    assert case.source == CaseSource(source)
    assert case.state.value == "reported"
    assert case.grid_code == world.grid_code
    assert case.reporter_user_id is None
    assert (case.reporter_name, case.reporter_phone) == ("王女士", "138 0013 8000")
    assert case.address == "石龙路12号"
    [event] = world.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert event.action == CaseAction.REPORT
    assert event.actor_id == world.dispatcher.id
    assert event.data["source"] == source
    page = client.get(r.headers["location"])
    assert 'class="notice" role="status">已完成：' in page.text
    assert CaseSource(source).label_zh in client.get("/desk/command").text  # listed, by source
    assert "王女士" not in page.text  # the caller's name is shown only on request, logged


def test_the_callers_contact_is_read_like_a_portal_reporters(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    token = as_user(world.dispatcher)
    r = post(client, "/desk/intake", data=form(world, token))
    number = r.headers["location"].split("/desk/cases/")[1].split("?")[0]
    contact = client.get(f"/desk/cases/{number}/contact")
    assert contact.status_code == 200
    assert "王女士" in contact.text and "138 0013 8000" in contact.text
    read = world.db.scalars(
        select(AuditEvent).where(AuditEvent.action == "personal_data.read")
    ).all()
    assert any(e.object_id == number and e.detail["fields"] == ["name", "phone"] for e in read)
    as_user(world.handler)  # a department handler may not read it
    assert client.get(f"/desk/cases/{number}/contact").status_code == 403
    as_user(world.outsider)  # a dispatcher of another township does not see the case at all
    assert client.get(f"/desk/cases/{number}/contact").status_code == 404


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"lon": "", "lat": ""}, 422, "请设定位置：搜索地址或在地图上点选"),
        ({"lon": "nan", "lat": "nan"}, 422, "请设定位置：搜索地址或在地图上点选"),
        ({"lon": "120.0", "lat": "30.0"}, 422, "服务区域"),
        ({"category_id": ""}, 422, "请选择"),
        ({"description": "  "}, 422, "请"),
        ({"phone": "call me"}, 422, "电话"),
        ({"caller_name": "王" * 60}, 422, "称呼最多 50 个字"),
        ({"source": "open311"}, 422, "电话受理的来源只能是12345热线或窗口来访"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_keeps_the_form(
    world: World, client: TestClient, as_user, changes: dict[str, str], status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    token = as_user(world.dispatcher)
    before = world.db.query(Case).count()
    r = post(client, "/desk/intake", data=form(world, token, **changes))
    assert r.status_code == status
    assert 'role="alert"' in r.text
    alert = r.text.split('role="alert">')[1].split("</p>")[0]
    assert message in alert
    assert world.db.query(Case).count() == before
    sent = form(world, token, **changes)
    assert f">{sent['description'].strip()}</textarea>" in r.text  # every field as sent
    for field in ("caller_name", "phone", "address", "lon", "lat"):
        assert f'name="{field}"' in r.text and f'value="{sent[field]}"' in r.text
    kept_category = f'name="category_id" value="{sent["category_id"]}"'
    assert (kept_category in r.text) is bool(sent["category_id"])


def test_a_place_outside_the_dispatchers_area_is_refused(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    token = as_user(world.outsider)  # dispatcher of another township
    before = world.db.query(Case).count()
    r = post(client, "/desk/intake", data=form(world, token))
    assert r.status_code == 403
    assert "该位置不在您的辖区内" in r.text or "辖区" in r.text
    assert "小区门口垃圾堆放三天没人清" in r.text
    assert world.db.query(Case).count() == before


def test_the_action_refuses_other_sources(world: World) -> None:
    with pytest.raises(Invalid):
        actions.take_call(
            world.db,
            actor=world.dispatcher,
            source=CaseSource.PORTAL,
            category=world.category,
            lon=world.lon,
            lat=world.lat,
            description="x",
        )


def test_address_search_and_category_search(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    add_record(
        world.db,
        LedgerKind.ADDRESSES,
        {"road": "石龙路", "number": "12号", "lon": world.lon, "lat": world.lat},
        actor=world.admin,
    )
    as_user(world.dispatcher)
    found = client.get("/desk/intake/addresses", params={"address_q": "石龙路"})
    assert found.status_code == 200
    assert f'data-lon="{world.lon}"' in found.text and "石龙路" in found.text
    assert "没有" in client.get("/desk/intake/addresses", params={"address_q": "不存在的路"}).text
    picker = client.get(
        "/desk/intake/categories",
        params={"q": world.category.name_zh[:2], "category_id": str(world.category.id)},
    )
    assert f'value="{world.category.id}" required checked' in picker.text
    as_user(world.outsider)  # another township's ledger is not searched
    assert (
        "data-lon" not in client.get("/desk/intake/addresses", params={"address_q": "石龙路"}).text
    )
    as_user(world.worker)
    assert client.get("/desk/intake/addresses", params={"address_q": "石龙路"}).status_code == 403
