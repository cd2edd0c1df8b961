"""Inspection indicators (检查) against a small history computed by hand, on both sources."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from python_calamine import CalamineWorkbook

from civgrid.auth.models import User
from civgrid.db.base import acting_at
from civgrid.figures import actions as figures
from civgrid.figures.indicators import INSPECTION_CODES
from civgrid.figures.periods import Period, tz
from civgrid.figures.scores import WEIGHTS
from civgrid.figures.service import compute
from civgrid.inspections import actions
from civgrid.inspections.actions import ItemAnswer
from civgrid.inspections.models import InspectionRecord, ItemResult
from civgrid.inspections.service import inspection_counts
from civgrid.ledger.models import LedgerKind
from tests.figures.conftest import local
from tests.inspections.conftest import Site, site  # noqa: F401  (the fixture, reused)

PASS, FAIL, NA = ItemResult.PASS, ItemResult.FAIL, ItemResult.NOT_APPLICABLE
NOW = local("2026-12-03 09:00")


def inspect(
    site: Site,  # noqa: F811
    when: str,
    *results: ItemResult,
    actor: User | None = None,
) -> InspectionRecord:
    at = local(when)
    with acting_at(at):
        return actions.submit_inspection(
            site.world.db,
            template=site.template,
            kind=LedgerKind.UNITS,
            target_id=site.unit.id,
            answers=[
                ItemAnswer(item.id, r, "坏了" if r == FAIL else "")
                for item, r in zip(site.template.items, results, strict=True)
            ],
            actor=actor or site.world.worker,
            client_key=f"golden-{when}",
            inspected_at=at,
        )


def build_history(site: Site) -> None:  # noqa: F811
    """Six inspections of one restaurant around November 2026 (local days, Asia/Shanghai)."""
    admin = site.world.admin
    inspect(site, "2026-10-31 23:30", FAIL, PASS, PASS)  # October (15:30 UTC): not counted
    inspect(site, "2026-11-01 00:30", PASS, PASS, PASS)  # November 1st local, October 31 UTC
    inspect(site, "2026-11-10 10:00", FAIL, FAIL, PASS)  # failed: two cases
    inspect(site, "2026-11-20 10:00", NA, FAIL, PASS, actor=admin)  # failed: one case, by admin
    inspect(site, "2026-11-30 23:59", PASS, NA, PASS, actor=admin)
    inspect(site, "2026-12-01 08:00", FAIL, FAIL, FAIL)  # December: not counted


# November: 4 inspections, 2 with a failed item, 3 failed items opened 3 cases.
EXPECTED = {
    "inspections": (4, None, 4.0),
    "failed_inspections": (2, None, 2.0),
    "inspection_failure_rate": (2, 4, 0.5),
    "inspection_cases": (3, None, 3.0),
}
# The grid worker did 2 of them (1 failed, 2 cases); the admin 2 (1 failed, 1 case).
EXPECTED_WORKER = {
    "inspections": (2, None, 2.0),
    "failed_inspections": (1, None, 1.0),
    "inspection_failure_rate": (1, 2, 0.5),
    "inspection_cases": (2, None, 2.0),
}


def _got(site: Site, kind: str, code: str, period: str, source: str):  # type: ignore[no-untyped-def]  # noqa: F811
    values = compute(
        site.world.db,
        unit_kind=kind,
        unit_code=code,
        period=Period.parse(period),
        codes=list(INSPECTION_CODES),
        source=source,
        now=NOW,
    )
    return {k: (v.numerator, v.denominator, v.value) for k, v in values.items()}


@pytest.mark.parametrize("source", ["raw", "auto"])
def test_november_matches_the_hand_computation(site: Site, source: str) -> None:  # noqa: F811
    build_history(site)
    if source == "auto":
        figures.rebuild(site.world.db, now=NOW)
    w = site.world
    for kind, code in (("grid", w.grid_code), ("village", w.village), ("township", "441900101")):
        assert _got(site, kind, code, "2026-11", source) == EXPECTED, (kind, source)
    assert _got(site, "worker", w.worker.username, "2026-11", source) == EXPECTED_WORKER
    assert _got(site, "department", w.dept.code, "2026-11", source)["inspections"] == (
        0,
        None,
        0.0,
    )
    assert _got(site, "grid", w.grid_code, "2026-10", source)["inspection_cases"] == (1, None, 1.0)
    assert _got(site, "grid", w.grid_code, "2026-11-01", source)["inspections"][0] == 1


def test_rollups_built_midway_and_refreshed_equal_raw(site: Site) -> None:  # noqa: F811
    db = site.world.db
    inspect(site, "2026-11-02 09:00", FAIL, PASS, PASS)
    figures.rebuild(db, now=local("2026-11-15 12:00"))
    inspect(site, "2026-11-20 09:00", FAIL, FAIL, NA)
    figures.refresh(db, now=NOW)
    for text in ("2026-11", "2026-W45", "2026-W47", "2026-Q4", "2026-11-02..2026-11-16"):
        raw = _got(site, "village", site.world.village, text, "raw")
        assert _got(site, "village", site.world.village, text, "auto") == raw, text
    assert _got(site, "village", site.world.village, "2026-11", "auto")["inspection_cases"][0] == 3


def test_figures_agree_with_the_inspection_counts(site: Site) -> None:  # noqa: F811
    build_history(site)
    start, end = Period.parse("2026-11").bounds(tz())
    counts = inspection_counts(site.world.db, territory=site.world.village, since=start, until=end)
    got = _got(site, "village", site.world.village, "2026-11", "raw")
    assert (counts.records, counts.failed_records, counts.cases_opened) == (
        got["inspections"][0],
        got["failed_inspections"][0],
        got["inspection_cases"][0],
    )
    assert counts.failure_rate == got["inspection_failure_rate"][2]


def test_inspections_are_weighted_by_no_default_score() -> None:
    weighted = {code for weights in WEIGHTS.values() for code in weights}
    assert weighted.isdisjoint(INSPECTION_CODES)


def test_a_closed_month_does_not_change_with_later_inspections(site: Site) -> None:  # noqa: F811
    build_history(site)
    before = _got(site, "grid", site.world.grid_code, "2026-11", "raw")
    inspect(site, "2026-12-02 10:00", FAIL, PASS, PASS)
    assert _got(site, "grid", site.world.grid_code, "2026-11", "raw") == before


def test_page_pdf_and_xlsx_show_the_inspection_figures(site: Site, client, as_user) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    build_history(site)
    as_user(site.world.dispatcher)
    unit = f"unit=village&code={site.world.village}&period=2026-11"
    page = client.get(f"/figures?{unit}&indicator=inspection_failure_rate")
    assert page.status_code == 200, page.text[:300]
    shown = dict(re.findall(r'class="kpi-value" data-code="([a-z_0-9]+)">([^<]+)<', page.text))
    assert [shown[c] for c in INSPECTION_CODES] == ["4", "2", "50.0%", "3"]
    assert '<option value="inspection_cases">检查转案件数</option>' in page.text

    pdf = client.get(f"/figures/report?{unit}&format=pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    line = next(x for x in text.splitlines() if "检查不合格率" in x)
    assert "50.0%" in line

    xlsx = client.get(f"/figures/report?{unit}&format=xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0)
    by_code = {r[0]: r for r in rows.to_python()[1:]}
    assert [by_code[c][2:5] for c in INSPECTION_CODES] == [
        [4.0, "", 4.0],
        [2.0, "", 2.0],
        [2.0, 4.0, 0.5],
        [3.0, "", 3.0],
    ]
