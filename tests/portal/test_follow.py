"""Following a report: by number (public) or number and code (one's own), adding information,
the closed notice, rating; what another resident may and may not do."""

from __future__ import annotations

from sqlalchemy import select

from civgrid.cases.models import Case, CaseAttachment, CaseEvent, CaseNotification
from civgrid.cases.transitions import CaseAction, CaseState
from tests.portal.conftest import Portal, Resident, png_bytes


def _case(portal: Portal, number: str) -> Case:
    case = portal.world.db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    return case


def test_the_public_page_shows_progress_without_personal_data(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    text = "井盖丢失 请联系 13812345678 a@b.cn"
    number, _code = resident.receipt(resident.report(portal, description=text, phone="13900001111"))
    w = portal.world
    w.drive(_case(portal, number), "register", "dispatch")
    page = other_resident.client.get(f"/portal/cases/{number}").text
    assert "138****5678" in page and "13812345678" not in page
    assert "***@***" in page and "a@b.cn" not in page
    assert "13900001111" not in page  # the reporter's contact never
    assert w.dispatcher.username not in page and w.dispatcher.display_name not in page
    assert "已派遣至责任部门" in page and w.dept.name_zh in page
    assert 'id="add"' not in page and 'id="rate"' not in page  # not the reporter


def test_a_private_matter_is_seen_only_with_its_receipt(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    number, code = resident.receipt(
        resident.report(portal, category_id=str(portal.private.id), description="楼上漏水")
    )
    assert resident.client.get(f"/portal/cases/{number}").status_code == 200
    assert other_resident.client.get(f"/portal/cases/{number}").status_code == 404
    # Number alone: refused. Number and code (another device): opened and remembered.
    r = other_resident.post("/portal/track", {"number": number, "code": ""})
    assert r.status_code == 404
    r = other_resident.post("/portal/track", {"number": number, "code": code.lower()})
    assert r.status_code == 303
    assert "楼上漏水" in other_resident.client.get(f"/portal/cases/{number}").text


def test_a_wrong_code_is_refused_with_one_message(portal: Portal, resident: Resident) -> None:
    number, _code = resident.receipt(resident.report(portal))
    for number_typed, code in ((number, "AAAAA-AAAAA"), ("NOPE-1", "AAAAA-AAAAA")):
        r = resident.post("/portal/track", {"number": number_typed, "code": code})
        assert r.status_code == 404
        assert "没有与该案件编号和查询码相符的上报" in r.text


def test_the_reporter_adds_information_and_a_photo(portal: Portal, resident: Resident) -> None:
    number, _code = resident.receipt(resident.report(portal))
    r = resident.post(
        f"/portal/cases/{number}/add",
        {"note": "晚上更严重"},
        files=[("photos", ("b.png", png_bytes((0, 200, 0)), "image/png"))],
    )
    assert r.status_code == 303
    case = _case(portal, number)
    db = portal.world.db
    event = db.scalar(select(CaseEvent).where(CaseEvent.action == CaseAction.SUPPLEMENT))
    assert event is not None and event.note == "晚上更严重" and not event.data["me_too"]
    assert len(event.attachment_ids) == 1
    assert db.get(CaseAttachment, event.attachment_ids[0]).case_id == case.id  # type: ignore[union-attr]
    told = db.scalar(select(CaseNotification).where(CaseNotification.kind == "supplement"))
    assert told is not None and told.recipient_ref == case.territory_code
    assert "补充了信息" in resident.client.get(f"/portal/cases/{number}").text
    # Nothing to add is refused with a message, and nothing is written.
    r = resident.post(f"/portal/cases/{number}/add", {"note": " "})
    assert r.status_code == 422 and "请填写要补充的内容" in r.text


def test_another_resident_cannot_add_or_rate(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    number, _code = resident.receipt(resident.report(portal))
    w = portal.world
    w.drive(_case(portal, number), "register", "dispatch", "accept", "handle", "verify", "close")
    for action, data in (("add", {"note": "x"}), ("rate", {"rating": "1"})):
        r = other_resident.post(f"/portal/cases/{number}/{action}", data)
        assert r.status_code == 404
    assert _case(portal, number).rating is None


def test_closed_case_tells_the_reporter_and_takes_a_rating(
    portal: Portal, resident: Resident
) -> None:
    number, _code = resident.receipt(resident.report(portal, email="r@example.com"))
    w = portal.world
    case = _case(portal, number)
    r = resident.post(f"/portal/cases/{number}/rate", {"rating": "5"})
    assert r.status_code == 409  # not closed yet: the state is named
    w.drive(case, "register", "dispatch", "accept", "handle", "verify", "close")
    told = w.db.scalars(select(CaseNotification).where(CaseNotification.kind == "outcome"))
    assert any("已办结" in n.message for n in told)  # the outbox tells the contact
    home = resident.client.get("/portal").text
    assert "已办结：请评价办理情况" in home
    page = resident.client.get(f"/portal/cases/{number}").text
    assert "您反映的问题已办结" in page and 'id="rate"' in page
    assert resident.post(f"/portal/cases/{number}/rate", {"rating": "9"}).status_code == 422
    r = resident.post(f"/portal/cases/{number}/rate", {"rating": "4", "comment": "及时"})
    assert r.status_code == 303
    w.db.refresh(case)
    assert case.state == CaseState.EVALUATED and case.rating == 4
    event = w.db.scalar(select(CaseEvent).where(CaseEvent.action == CaseAction.EVALUATE))
    assert event is not None and event.note == "及时" and event.actor_id is None
    again = resident.post(f"/portal/cases/{number}/rate", {"rating": "1"})
    assert again.status_code == 409
    assert case.rating == 4


def test_following_a_public_case_by_number(
    portal: Portal, resident: Resident, other_resident: Resident
) -> None:
    number, _code = resident.receipt(resident.report(portal))
    r = other_resident.post("/portal/track", {"number": number, "code": ""})
    assert r.status_code == 404  # a raw report is not public yet
    case = portal.world.db.scalar(select(Case).where(Case.number == number))
    assert case is not None
    portal.world.drive(case, "register")
    r = other_resident.post("/portal/track", {"number": number, "code": ""})
    assert r.status_code == 303
    assert number in other_resident.client.get("/portal").text


def test_csrf_is_required(portal: Portal, resident: Resident) -> None:
    resident.csrf()
    r = resident.client.post("/portal/report", data={"description": "x"}, follow_redirects=False)
    assert r.status_code == 403
    assert portal.count() == 0


def test_a_private_matter_is_not_in_open311(portal: Portal, resident: Resident) -> None:
    number, _code = resident.receipt(
        resident.report(portal, category_id=str(portal.private.id), description="楼上漏水")
    )
    assert resident.client.get(f"/open311/v2/requests/{number}.json").status_code == 404
    listed = resident.client.get("/open311/v2/requests.json").json()
    assert number not in {r["service_request_id"] for r in listed}


def test_the_start_page_reads_a_fixed_number_of_queries(portal: Portal, resident: Resident) -> None:
    from tests.desk.conftest import count_statements

    def statements() -> int:
        with count_statements(portal.world.db) as seen:
            assert resident.client.get("/portal").status_code == 200
        return len(seen)

    resident.receipt(resident.report(portal))
    one = statements()
    assert one > 0
    for _ in range(4):
        resident.receipt(resident.report(portal))
    assert statements() == one  # no query per listed report


def test_the_device_remembers_its_reports_beyond_the_session(
    portal: Portal, resident: Resident
) -> None:
    number, _code = resident.receipt(resident.report(portal))
    kept = resident.client.cookies.get("civgrid_reports")
    assert kept
    resident.client.cookies.delete("civgrid_session")  # the working-day session ends
    assert number in resident.client.get("/portal").text
    assert 'id="add"' in resident.client.get(f"/portal/cases/{number}").text
    # A cookie that was not signed here is ignored, not trusted.
    resident.client.cookies.set("civgrid_reports", kept[:-4] + "AAAA")
    assert number not in resident.client.get("/portal").text


def test_the_reporter_sees_the_place_the_grid_by_name_and_a_map(
    portal: Portal, resident: Resident, other_resident
) -> None:  # type: ignore[no-untyped-def]
    response = resident.report(portal, address="石碣镇东风路12号门口")
    number, _code = resident.receipt(response)
    page = resident.client.get(f"/portal/cases/{number}").text
    assert "石碣镇东风路12号门口" in page  # the address the reporter typed
    assert "测试网格" in page  # the grid's name, not only its code
    assert 'class="case-map"' in page and 'src="/static/casemap.js"' in page
    public = other_resident.client.get(f"/portal/cases/{number}").text
    assert "石碣镇东风路12号门口" not in public  # the address is the reporter's to see
