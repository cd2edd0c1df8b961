"""The quarterly appraisal on the figures package's indicators, manual items, ranking, exports."""

from __future__ import annotations

import io
import subprocess

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.db.base import utcnow
from civgrid.grids.models import Grid, Post
from civgrid.workforce.actions import staff_grid
from civgrid.workforce.appraisal import year_totals
from civgrid.workforce.patrols import local_day
from tests.cases.conftest import world  # noqa: F401  (the case fixtures)


def _quarter() -> str:
    today = local_day(utcnow())
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def test_a_quarter_is_scored_ranked_commented_and_exported(
    client: TestClient,
    db: Session,
    world,  # noqa: F811
    make_user,
    bearer,
) -> None:
    world.drive(world.report(), "register")
    grid = db.scalar(select(Grid).where(Grid.code == world.grid_code))
    idle = make_user("grid_worker", ("grid", grid.code))
    staff_grid(
        db,
        grid,
        leader_id=None,
        members=[(world.worker.id, Post.FULL_TIME), (idle.id, Post.PART_TIME)],
        actor=None,
    )
    admin = bearer(make_user("admin", ("division", "441900101")))
    q = _quarter()
    item = {"quarter": q, "user_id": world.worker.id, "item": "training", "points": 10}
    assert client.post("/api/v1/appraisals/items", json=item, headers=admin).status_code == 204
    item.update(user_id=idle.id, points=2)
    assert client.post("/api/v1/appraisals/items", json=item, headers=admin).status_code == 204
    too_many = dict(item, points=11)
    assert client.post("/api/v1/appraisals/items", json=too_many, headers=admin).status_code == 422
    r = client.post(
        "/api/v1/appraisals/run", json={"quarter": q, "division": "441900101"}, headers=admin
    )
    assert r.status_code == 200, r.text
    rows = {a["user_id"]: a for a in r.json()}
    assert set(rows) == {world.worker.id, idle.id}
    worker, other = rows[world.worker.id], rows[idle.id]
    assert worker["parts"]["training"]["points"] == 10
    assert set(worker["parts"]) >= {
        "valid_report_rate",
        "on_time_verification_rate",
        "patrol",
        "training",
    }
    assert worker["parts"]["valid_report_rate"] == {"value": 1.0, "weight": 25, "points": 25}
    assert worker["total"] == 100.0  # (25 + 10) of the 35 points with data
    assert other["total"] == 20.0  # only the manual item has data: 2 of 10
    assert (worker["rank"], other["rank"]) == (1, 2)
    assert worker["grade"] == "优秀"

    mine = bearer(world.worker)
    aid = client.get("/api/v1/me/appraisals", headers=mine).json()[0]["id"]
    r = client.put(f"/api/v1/me/appraisals/{aid}/comment", json={"comment": "同意"}, headers=mine)
    assert r.json()["comment"] == "同意"
    assert (
        client.put(
            f"/api/v1/me/appraisals/{aid}/comment", json={"comment": "x"}, headers=bearer(idle)
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/appraisals?quarter={q}", headers=mine).status_code == 403

    xlsx = client.get(
        f"/api/v1/appraisals?quarter={q}&division=441900101&format=xlsx", headers=admin
    )
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [c.value for c in sheet[2]][:5] == [
        1,
        world.worker.display_name,
        grid.code,
        worker["total"],
        "优秀",
    ]
    pdf = client.get(f"/api/v1/appraisals?quarter={q}&division=441900101&format=pdf", headers=admin)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "季度考核" in text and world.worker.display_name in text and "同意" in text
    assert year_totals(db, int(q[:4]), [world.worker.id]) == {world.worker.id: worker["total"]}


def test_appraisal_refuses_bad_input(client: TestClient, make_user, bearer) -> None:
    admin = bearer(make_user("admin", ("division", "441900101")))
    bad = {"quarter": "2026-13", "division": "441900101"}
    assert client.post("/api/v1/appraisals/run", json=bad, headers=admin).status_code == 422
    far = {"quarter": "2026-Q4", "division": "441900102"}
    assert client.post("/api/v1/appraisals/run", json=far, headers=admin).status_code == 403
    worker = make_user("grid_worker", ("division", "441900101"))
    item = {"quarter": "2026-Q4", "user_id": worker.id, "item": "bribes", "points": 1}
    assert client.post("/api/v1/appraisals/items", json=item, headers=admin).status_code == 422
