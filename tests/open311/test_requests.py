"""POSTed requests enter the case workflow; GET requests shows only public, masked data."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from civgrid.audit.models import AuditEvent
from civgrid.cases import actions as case_actions
from civgrid.cases.models import AttachmentKind, Case, CaseAttachment, CaseEvent, CaseSource
from civgrid.cases.transitions import CaseState
from civgrid.db.base import utcnow
from civgrid.open311.models import AttributeAnswer, RequestToken
from tests.open311.conftest import BASE, Open311World, jpeg_with_exif, png_bytes


def _case(o311: Open311World, sid: str) -> Case:
    return o311.db.scalars(select(Case).where(Case.number == sid)).one()


def test_post_enters_the_intake_workflow(o311: Open311World) -> None:
    r = o311.post(
        service_code="M01001",
        email="resident@example.com",
        phone="13812345678",
        first_name="Zhang",
        last_name="Sanfeng",
        address_string="东门口",
        **{"attribute[cover_condition]": "cracked", "attribute[marked_off]": "no"},
    )
    assert r.status_code == 200, r.text
    case = _case(o311, r.json()[0]["service_request_id"])
    assert case.source == CaseSource.OPEN311 and case.state == CaseState.REPORTED
    assert case.grid_code is not None and case.address == "东门口"
    assert (case.reporter_phone, case.reporter_email) == ("13812345678", "resident@example.com")
    assert case.reporter_user_id is None
    event = o311.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    assert event.actor_id is None and event.actor_label == "anonymous (open311)"
    answers = o311.db.scalars(select(AttributeAnswer).where(AttributeAnswer.case_id == case.id))
    assert sorted((a.code, a.value) for a in answers) == [
        ("cover_condition", "cracked"),
        ("marked_off", "no"),
    ]
    token = o311.db.scalars(select(RequestToken).where(RequestToken.case_id == case.id)).one()
    assert token.client_id is not None
    # Names are read and dropped: they are nowhere in the case, its events or answers.
    stored = repr(vars(case)) + repr(event.data) + event.actor_label
    assert "Zhang" not in stored and "Sanfeng" not in stored


def test_get_never_shows_contact_and_masks_free_text(o311: Open311World) -> None:
    r = o311.post(
        email="resident@example.com",
        phone="13812345678",
        description="门口垃圾，联系13912345678 或 a.b@example.com",
    )
    sid = r.json()[0]["service_request_id"]
    o311.publish(sid)
    for fmt in ("json", "xml"):
        text = o311.client.get(f"{BASE}/requests/{sid}.{fmt}").text
        assert "13812345678" not in text and "resident@example.com" not in text
        assert "139****5678" in text and "***@***" in text
        assert "13912345678" not in text and "a.b@example.com" not in text


def test_status_notes_and_closed_status(o311: Open311World, make_user) -> None:  # type: ignore[no-untyped-def]
    rejected = o311.post().json()[0]["service_request_id"]
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    case_actions.reject_case(o311.db, _case(o311, rejected), actor=dispatcher, reason="重复")
    assert o311.client.get(f"{BASE}/requests/{rejected}.json").status_code == 404  # not public
    sid = o311.post().json()[0]["service_request_id"]
    case = o311.publish(sid)
    handler = make_user("dept_handler", ("department", "T-SZ"))
    worker = make_user("grid_worker", ("division", "441900101002"))
    case_actions.dispatch_case(o311.db, case, actor=dispatcher)
    case_actions.accept_case(o311.db, case, actor=handler)
    photo = case_actions.attach_photo(
        o311.db, case, actor=handler, data=png_bytes(), kind=AttachmentKind.AFTER, filename="a.png"
    )
    case_actions.handle_case(o311.db, case, actor=handler, feedback="ok", attachment_ids=[photo.id])
    case_actions.verify_case(o311.db, case, actor=worker, passed=True)
    case_actions.close_case(o311.db, case, actor=dispatcher, outcome="已修复，请联系13812345678")
    (doc,) = o311.client.get(f"{BASE}/requests/{sid}.json").json()
    assert doc["status"] == "closed"
    assert doc["status_notes"] == "已修复，请联系138****5678"
    # the handler's photo is not the reporter's: neither linked nor served
    assert doc["media_url"] is None
    assert o311.client.get(f"{BASE}/media/{photo.id}").status_code == 404
    assert o311.client.get(f"{BASE}/requests.json?status=open").json() == []
    closed = o311.client.get(f"{BASE}/requests.json?status=closed").json()
    assert [d["service_request_id"] for d in closed] == [sid]
    both = o311.client.get(f"{BASE}/requests.json?status=open,closed").json()
    assert len(both) == 1


def test_agency_responsible_is_the_department(o311: Open311World, make_user) -> None:  # type: ignore[no-untyped-def]
    sid = o311.post().json()[0]["service_request_id"]
    dispatcher = make_user("dispatcher", ("division", "441900101"))
    case = _case(o311, sid)
    case_actions.register_case(o311.db, case, actor=dispatcher)
    case_actions.dispatch_case(o311.db, case, actor=dispatcher)
    (doc,) = o311.client.get(f"{BASE}/requests/{sid}.json").json()
    assert doc["agency_responsible"] == "市政"
    assert doc["expected_datetime"] is not None and doc["expected_datetime"].endswith("+08:00")


def test_photo_upload_and_exif_free_media_url(o311: Open311World) -> None:
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()  # the upload does carry EXIF
    r = o311.post(files={"media": ("p.jpg", original, "image/jpeg")})
    assert r.status_code == 200, r.text
    sid = r.json()[0]["service_request_id"]
    hidden = o311.db.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == _case(o311, sid).id)
    ).one()
    assert o311.client.get(f"{BASE}/media/{hidden.id}").status_code == 404  # not yet public
    o311.publish(sid)
    att = o311.db.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == _case(o311, sid).id)
    ).one()
    assert att.uploaded_by_id is None and att.content_type == "image/jpeg"
    (doc,) = o311.client.get(f"{BASE}/requests/{sid}.json").json()
    assert doc["media_url"] == f"http://testserver{BASE}/media/{att.id}"
    served = o311.client.get(doc["media_url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.content != original
    assert not Image.open(io.BytesIO(served.content)).getexif()
    assert o311.client.get(f"{BASE}/media/{att.id + 1000}").status_code == 404


def test_filters_ids_codes_dates_and_pages(o311: Open311World) -> None:
    first = o311.post().json()[0]["service_request_id"]
    second = o311.post(service_code="M01001", **{"attribute[cover_condition]": "sunken"})
    second_id = second.json()[0]["service_request_id"]
    third = o311.post().json()[0]["service_request_id"]
    for sid in (first, second_id, third):
        o311.publish(sid)

    def ids(query: str) -> list[str]:
        params = dict(part.split("=", 1) for part in query.split("&"))
        r = o311.client.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [d["service_request_id"] for d in r.json()]

    assert set(ids(f"service_request_id={first},{third}")) == {first, third}
    assert ids(f"service_request_id={first}&service_code=M01001") == [first]  # ids win
    assert ids("service_code=M01001") == [second_id]
    assert set(ids("service_code=M01001,GT201")) == {first, second_id, third}
    assert set(ids("jurisdiction_id=dongguan")) == {first, second_id, third}
    assert len(ids("page_size=2")) == 2 and len(ids("page_size=2&page=2")) == 1
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={future}") == []
    past = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert len(ids(f"start_date={past}&end_date={future}")) == 3
    assert ids(f"end_date={past}") == []


def test_default_window_is_the_last_90_days(o311: Open311World) -> None:
    sid = o311.post().json()[0]["service_request_id"]
    case = o311.publish(sid)
    case.reported_at = utcnow() - timedelta(days=91)
    o311.db.commit()
    assert o311.client.get(f"{BASE}/requests.json").json() == []
    assert len(o311.client.get(f"{BASE}/requests.json?service_request_id={sid}").json()) == 1


def test_staff_complaints_are_not_published(o311: Open311World, make_user) -> None:  # type: ignore[no-untyped-def]
    worker = make_user("grid_worker", ("division", "441900101002"))
    from civgrid.catalogue.models import Category

    complaint = o311.db.scalars(select(Category).where(Category.code == "G17001")).one()
    case = case_actions.report_case(
        o311.db,
        source=CaseSource.PATROL,
        category=complaint,
        lon=o311.lon,
        lat=o311.lat,
        description="网格员态度差",
        actor=worker,
    ).case
    assert o311.client.get(f"{BASE}/requests.json").json() == []
    assert o311.client.get(f"{BASE}/requests/{case.number}.json").status_code == 404
    codes = {s["service_code"] for s in o311.client.get(f"{BASE}/services.json").json()}
    assert "G17001" not in codes and {"M01001", "GT201"} <= codes


def test_client_use_is_recorded_and_key_stored_hashed(o311: Open311World) -> None:
    from civgrid.open311.models import ApiClient

    o311.post()
    client = o311.db.scalars(select(ApiClient).execution_options(populate_existing=True)).one()
    assert client.last_used_at is not None
    assert o311.api_key not in client.key_sha256 and len(client.key_sha256) == 64
    assert client.key_hint == o311.api_key[:6]
    audit = o311.db.scalars(select(AuditEvent).where(AuditEvent.action.startswith("open311")))
    assert [a.action for a in audit] == ["open311.client.issue"]


def test_list_query_count_does_not_grow_with_rows(o311: Open311World) -> None:
    from sqlalchemy import event

    def queries() -> int:
        from civgrid.db.cache import clear_all

        clear_all()  # caches cold: the count must not depend on when they were filled
        seen: list[str] = []

        def count(*args: object) -> None:
            # not the test harness's savepoints, which depend on what the test did before
            if not str(args[2]).startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                seen.append(str(args[2]))

        bind = o311.db.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            r = o311.client.get(f"{BASE}/requests.json")
        finally:
            event.remove(bind, "before_cursor_execute", count)
        assert r.status_code == 200
        return len(seen)

    def posted() -> None:
        r = o311.post(files={"media": ("p.jpg", jpeg_with_exif(), "image/jpeg")})
        o311.publish(r.json()[0]["service_request_id"])

    posted()
    few = queries()
    for _ in range(4):
        posted()
    assert len(o311.client.get(f"{BASE}/requests.json").json()) == 5
    assert queries() == few


def test_pages_in_turn_continue_after_the_last_request_served(o311: Open311World) -> None:
    """GeoReport pages by number; walked in turn, each page starts after the last one's end
    (a keyset, no OFFSET), and a request published meanwhile does not shift the walk."""
    from sqlalchemy import event

    for _ in range(5):
        o311.publish(o311.post().json()[0]["service_request_id"])

    def page(n: int) -> tuple[list[str], list[str]]:
        seen: list[str] = []  # (not count_statements: it drops the caches, page ends too)
        conn = o311.db.connection()

        def record(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", record)
        r = o311.client.get(f"{BASE}/requests.json", params={"page_size": 2, "page": n})
        event.remove(conn, "before_cursor_execute", record)
        assert r.status_code == 200
        return [d["service_request_id"] for d in r.json()], seen

    first, _ = page(1)
    o311.publish(o311.post().json()[0]["service_request_id"])  # a newer one arrives
    second, statements = page(2)
    third, _ = page(3)
    listed = [s for s in statements if "FROM cases" in s and "ORDER BY" in s]
    assert listed and all("(cases.reported_at, cases.id) <" in s for s in listed)
    walked = first + second + third
    # the five of the walk, each once (by offset the newer one would repeat one of them)
    assert len(walked) == 5 and len(set(walked)) == 5
