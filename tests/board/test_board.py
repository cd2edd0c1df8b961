"""The public board: anonymous, only what the public may see, masked, filtered, paged."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image

from civgrid.cases import actions
from tests.board.conftest import Board, count_statements

PHONE, ID_CARD, EMAIL = "13812345678", "44010119900101123X", "li.ming@example.com"


def test_anonymous_board_lists_registered_cases_with_status_and_outcome(board: Board) -> None:
    open_case = board.listed(description="路灯不亮")
    done = board.closed(description="垃圾堆放")
    html = board.html()
    assert '<html lang="zh-CN">' in html and "办理公示" in html
    assert board.numbers() == [done.number, open_case.number]  # newest first
    assert f'href="/portal/cases/{done.number}"' in html
    assert "fixed" in html  # the public outcome note of the closed case
    assert "办理中" in html and "已办结" in html
    assert 'aria-current="page"' in html and 'href="/board"' in html


def test_reported_rejected_voided_and_merged_cases_are_not_listed(board: Board) -> None:
    w = board.world
    shown = board.listed()
    reported = board.case()
    rejected = actions.reject_case(w.db, board.case(), actor=w.dispatcher, reason="不属实")
    voided = actions.void_case(w.db, board.listed(), actor=w.dispatcher, reason="重复录入")
    merged = actions.merge_case(w.db, board.case(), into=shown, actor=w.dispatcher)
    assert board.numbers() == [shown.number]
    html = board.html()
    for hidden in (reported, rejected, voided, merged):
        assert hidden.number not in html
    assert board.numbers("?status=closed") == []


def test_private_matters_and_staff_complaints_never_appear(board: Board) -> None:
    private = board.closed(category=board.private, description="邻里噪音纠纷")
    complaint = board.listed(category=board.complaint, description="网格员态度差")
    visible = board.listed()
    assert board.numbers() == [visible.number]
    for query in ("", "?category=GT1", "?category=GT104", "?category=GT105", "?status=closed"):
        html = board.html(query)
        data = str(board.geojson(query))
        for case in (private, complaint):
            assert case.number not in html and case.number not in data
    assert "邻里噪音纠纷" not in board.html() and "网格员态度差" not in board.html()


def test_personal_data_in_description_and_outcome_is_masked(board: Board) -> None:
    text = f"电话{PHONE}，身份证{ID_CARD}，邮箱 {EMAIL}，门口垃圾"
    case = board.case(
        "register", "dispatch", "accept", "start", "handle", "verify", description=text
    )
    actions.close_case(
        board.world.db, case, actor=board.world.dispatcher, outcome=f"已回电 {PHONE}"
    )
    html = board.html()
    data = board.client.get("/board/cases.geojson").text
    for secret in (PHONE, ID_CARD, EMAIL, "19900101"):
        assert secret not in html
        assert secret not in data
    assert "138****5678" in html and "***@***" in html and "440101************" in html


def test_geojson_points_carry_no_personal_data(board: Board) -> None:
    case = board.listed(description=f"call {PHONE}")
    data = board.geojson()
    assert data["type"] == "FeatureCollection" and data["truncated"] is False
    (feature,) = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [case.lon, case.lat]}
    assert feature["properties"] == {
        "number": case.number,
        "status": "open",
        "category": "乱堆乱放",
        "colour": "#ef6c00",
        "url": f"/portal/cases/{case.number}",
    }


def test_filter_by_category_and_major_class(board: Board) -> None:
    first = board.listed()
    other = board.listed(category=board.other)
    assert board.numbers("?category=GT101") == [first.number]
    assert board.numbers("?category=gt201") == [other.number]  # codes are not case-sensitive
    assert board.numbers("?category=GT2") == [other.number]
    assert board.numbers("?category=GT1") == [first.number]


def test_filter_by_grid(board: Board) -> None:
    from shapely.geometry import box

    from civgrid.grids.actions import GridDraft, create_grid
    from tests.cases.factories import HALF, LAT, LON

    w = board.world
    east = create_grid(
        w.db,
        GridDraft(w.village, box(LON + HALF, LAT - HALF, LON + 3 * HALF, LAT + HALF), "东网格"),
        actor=None,
    )
    here = board.listed()
    there = board.listed(lon=LON + 2 * HALF)
    assert there.grid_code == east.code
    assert board.numbers(f"?grid={w.grid_code}") == [here.number]
    assert board.numbers(f"?grid={east.code}") == [there.number]
    assert "东网格" in board.html(f"?grid={east.code}")


def test_filter_by_status(board: Board) -> None:
    still_open = board.listed()
    done = board.closed()
    assert board.numbers("?status=open") == [still_open.number]
    assert board.numbers("?status=closed") == [done.number]
    assert board.numbers("?status=CLOSED") == [done.number]


def test_filter_by_date_range_in_the_deployment_time_zone(board: Board) -> None:
    # 17:30 UTC on 10 March is 01:30 on 11 March in Asia/Shanghai.
    late = board.listed(now=datetime(2026, 3, 10, 17, 30, tzinfo=UTC))
    early = board.listed(now=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    assert board.numbers("?from=2026-03-11") == [late.number]
    assert board.numbers("?to=2026-03-10") == [early.number]
    assert board.numbers("?from=2026-03-01&to=2026-03-11") == [late.number, early.number]
    assert board.numbers("?from=2026-03-02&to=2026-03-10") == []


def test_pages_newest_first(board: Board) -> None:
    made = [board.listed(now=datetime(2026, 4, d, 3, 0, tzinfo=UTC)) for d in (1, 2, 3)]
    first = board.html("?per_page=2")
    second = board.html("?per_page=2&page=2")
    numbers = re.compile(r'class="number" href="/portal/cases/([^"]+)"')
    assert numbers.findall(first) == [made[2].number, made[1].number]
    assert numbers.findall(second) == [made[0].number]
    assert "3 件" in first or "共 3" in first
    assert 'rel="next" href="/board?page=2"' in first
    assert numbers.findall(board.html("?per_page=2&page=9")) == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("?category=M06%3B--", "category", "class code like M06"),
        ("?category=M99999", "category", "unknown category M99999"),
        ("?grid=abc", "grid", "grid code of 14 or 15 digits"),
        ("?grid=44190010109999", "grid", "unknown grid 44190010109999"),
        ("?status=pending", "status", "open or closed"),
        ("?from=2026-02-30", "from", "look like 2026-05-31"),
        ("?to=yesterday", "to", "look like 2026-05-31"),
        ("?from=2026-03-02&to=2026-03-01", "to", "from date is after the to date"),
        ("?page=0", "page", "from 1 to"),
        ("?page=-1", "page", "from 1 to"),
        ("?page=1e9", "page", "whole number"),
        ("?per_page=100000", "per_page", "from 1 to"),
    ],
)
def test_bad_filters_get_a_clear_message(
    board: Board, query: str, field: str, message: str
) -> None:
    board.listed()
    r = board.client.get(f"/board/cases.geojson{query}")
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid"
    assert [e["field"] for e in body["errors"]] == [field]
    assert message in body["errors"][0]["msg"]
    html = board.html(f"{query}&lang=en", status=422)
    assert 'role="alert"' in html and message in html
    assert 'class="number"' not in html  # nothing is listed under a filter that did not parse
    zh = board.html(f"{query}&lang=zh_CN", status=422)
    assert "部分筛选条件无法使用" in zh and message not in zh  # the message is translated too


def test_every_bad_value_is_reported_at_once(board: Board) -> None:
    r = board.client.get("/board/cases.geojson?status=x&from=x&page=0")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["status", "from", "page"]


def test_photos_on_the_board_are_exif_free(board: Board) -> None:
    case = board.listed()
    original = board.exif_photo(case)
    assert Image.open(io.BytesIO(_original_bytes())).getexif()  # the upload had EXIF and GPS
    html = board.html()
    thumbs = re.findall(r'<img src="(/portal/photos/(\d+)/thumb)"', html)
    assert [int(i) for _u, i in thumbs] == [original]
    assert f'href="/portal/photos/{original}"' in html
    for url in (thumbs[0][0], f"/portal/photos/{original}"):
        r = board.client.get(url)
        assert r.status_code == 200
        img = Image.open(io.BytesIO(r.content))
        exif = img.getexif()
        assert len(exif) == 0
        assert exif.get_ifd(0x8825) == {}
        assert "exif" not in img.info


def _original_bytes() -> bytes:
    from tests.board.conftest import jpeg_with_exif

    return jpeg_with_exif()


def test_english(board: Board) -> None:
    board.closed(category=board.other)
    html = board.html("?lang=en")
    assert '<html lang="en">' in html
    for text in ("Public board", "Closed", "Outcome", "Filter", "占道经营 (en)"):
        assert text in html


def test_list_query_count_does_not_grow_with_rows(board: Board) -> None:
    seen_last: list[str] = []

    def queries(query: str) -> int:
        with count_statements(board.world.db) as seen:
            board.html(query)
            board.geojson(query)
        seen_last[:] = seen
        return len(seen)

    filters = "?category=GT1&status=open&from=2020-01-01"
    # The baseline already has each kind of thing a row may bring: department, photos, grid.
    handled = ("register", "dispatch", "accept", "start", "handle")
    board.exif_photo(board.case(*handled))
    few, few_filtered = queries(""), queries(filters)
    for _ in range(4):
        board.exif_photo(board.case(*handled))
    board.listed(category=board.other)
    assert len(board.numbers()) == 6
    assert queries("") == few
    assert queries(filters) == few_filtered
    # The baseline: the page 7 (classes, count, cases, 3 for the public views, grid names), the
    # map 5 (cases, 3 for the views, "more?"), a savepoint and its rollback for each request;
    # a category filter checks the code once per request.
    assert few <= 15 and few_filtered <= 17, "\n".join(q.split("\n")[0][:90] for q in seen_last)
