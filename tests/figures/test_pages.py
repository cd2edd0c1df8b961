"""The figures over HTTP: permissions, bad input, and the same numbers on the page, in the PDF
(pdftotext), in the XLSX (read back) and in the API; the case export and kept reports."""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from civgrid.figures import kept
from tests.figures.conftest import World, local
from tests.figures.test_golden import build_history

NOV = "2026-11"


def _api(world: World, **params: Any) -> str:
    query = {"unit_kind": "village", "unit_code": world.village, "period": NOV, **params}
    return "/api/v1/figures?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_four_cases_of_permission(world: World, client: TestClient, bearer, make_user) -> None:  # type: ignore[no-untyped-def]
    assert client.get(_api(world)).status_code == 401
    assert client.get(_api(world), headers=bearer(world.worker)).status_code == 403
    assert client.get(_api(world), headers=bearer(world.outsider)).status_code == 404
    assert client.get(_api(world), headers=bearer(world.dispatcher)).status_code == 200
    leader = make_user("grid_leader", ("grid", world.grid_code))
    assert (
        client.get(
            _api(world, unit_kind="grid", unit_code=world.grid_code), headers=bearer(leader)
        ).status_code
        == 200
    )
    assert client.get(_api(world), headers=bearer(leader)).status_code == 404


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"codes": "closure_rate&codes=nope"}, "valid indicators: reports"),
        ({"unit_kind": "street"}, "valid units: province"),
        ({"period": "2026-Q9"}, "2026-W48"),
        ({"unit_code": "44"}, "12 digits"),
    ],
)
def test_bad_input_is_400_naming_the_valid_values(
    world: World, client: TestClient, bearer, params: dict[str, str], named: str
) -> None:  # type: ignore[no-untyped-def]
    r = client.get(_api(world, **params), headers=bearer(world.admin))
    assert r.status_code == 400
    assert named in r.json()["detail"]


def test_a_future_period_gives_zeros_and_no_data(world: World, client: TestClient, bearer) -> None:  # type: ignore[no-untyped-def]
    r = client.get(_api(world, period="2031-W02"), headers=bearer(world.dispatcher))
    assert r.status_code == 200
    got = r.json()["indicators"]
    assert got["reports"]["value"] == 0
    assert (got["closure_rate"]["value"], got["closure_rate"]["has_data"]) == (None, False)


def _page_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="kpi-value" data-code="([a-z_0-9]+)">([^<]+)<', html))


def test_page_pdf_xlsx_and_api_show_the_same_figures(
    world: World, client: TestClient, as_user, bearer
) -> None:  # type: ignore[no-untyped-def]
    build_history(world)
    as_user(world.dispatcher)
    unit = f"unit=village&code={world.village}&period={NOV}"
    page = client.get(f"/figures?{unit}", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text[:300]
    shown = _page_values(page.text)
    assert shown["reports"] == "5"
    assert shown["valid_report_rate"] == "80.0%"
    assert shown["close_hours_median"] == "9"

    pdf = client.get(f"/figures/report?{unit}&format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "有效上报率" in text
    for value in shown.values():
        assert value in text
    # the charts' labels in the text's fonts (a regular and a bold), no fallback fonts besides
    fonts = subprocess.run(
        ["pdffonts", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert len(fonts.splitlines()[2:]) == 2, fonts

    xlsx = client.get(f"/figures/report?{unit}&format=xlsx")
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    rows = book.get_sheet_by_index(0).to_python()
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["reports"][4] == 5.0
    assert by_code["valid_report_rate"][4] == pytest.approx(0.8)
    assert len(book.sheet_names) == 5

    api = client.get(_api(world), headers=bearer(world.dispatcher)).json()["indicators"]
    assert api["valid_report_rate"]["value"] == pytest.approx(by_code["valid_report_rate"][4])


def test_pages_answer_bad_input_with_a_page_not_a_500(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    as_user(world.dispatcher)
    html = {"accept": "text/html"}
    assert client.get("/figures?period=2026-13", headers=html).status_code == 400
    assert client.get("/figures?indicator=nope", headers=html).status_code == 400
    assert client.get("/figures?unit=township&code=441900102", headers=html).status_code == 404
    assert client.get(f"/figures/report?period={NOV}&format=doc", headers=html).status_code == 400
    wall = client.get(f"/figures/wall?unit=village&code={world.village}", headers=html)
    assert wall.status_code == 200
    assert 'http-equiv="refresh"' in wall.text


def test_case_export_has_no_personal_data_and_keeps_scope(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    from civgrid.cases import actions

    world.report(contact=actions.Contact(phone="13912345678"), description="王五 家门口")
    as_user(world.dispatcher)
    csv = client.get("/figures/cases.csv").content.decode("utf-8-sig")
    assert csv.count("\n") == 2
    assert "13912345678" not in csv and "王五" not in csv
    xlsx = client.get("/figures/cases.xlsx?state=reported")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0).to_python()
    )
    assert len(rows) == 2
    assert (
        client.get("/figures/cases.csv?state=nope", headers={"accept": "text/html"}).status_code
        == 400
    )
    as_user(world.outsider)
    assert client.get("/figures/cases.csv").content.decode("utf-8-sig").count("\n") == 1


def test_kept_reports_open_exactly_as_sent(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    build_history(world)
    made = kept.send(world.db, now=local("2026-12-01 07:00"), formats=("html",))
    assert {r.period for r in made} == {"2026-W48", "2026-11", "2026-Q3"}
    assert kept.send(world.db, now=local("2026-12-01 08:00"), formats=("html",)) == []
    month = next(r for r in made if r.period == "2026-11")
    as_user(world.dispatcher)
    first = client.get(f"/figures/reports/{month.id}").content
    world.report()
    assert client.get(f"/figures/reports/{month.id}").content == first
    assert b"2026-11" in first
    as_user(world.outsider)
    assert (
        client.get(f"/figures/reports/{month.id}", headers={"accept": "text/html"}).status_code
        == 404
    )
