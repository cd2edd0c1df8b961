"""The weekly grid meeting: last week's summary, attendance and minutes, the printable PDF."""

from __future__ import annotations

import subprocess

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.db.base import utcnow
from civgrid.grids.models import Grid, Post
from civgrid.workforce.actions import staff_grid
from civgrid.workforce.meetings import week_of
from civgrid.workforce.patrols import local_day
from tests.cases.conftest import world  # noqa: F401  (the case fixtures)


def test_a_meeting_is_prepared_recorded_and_printed(
    client: TestClient,
    db: Session,
    world,  # noqa: F811
    make_user,
    bearer,
) -> None:
    world.report()
    world.report(description="井盖缺失")
    grid = db.scalar(select(Grid).where(Grid.code == world.grid_code))
    leader = make_user("grid_leader", ("grid", grid.code))
    staff_grid(
        db, grid, leader_id=leader.id, members=[(world.worker.id, Post.FULL_TIME)], actor=None
    )
    week = week_of(local_day(utcnow()))
    h = bearer(leader)
    r = client.post(
        f"/api/v1/grids/{grid.id}/meetings", json={"week_start": week.isoformat()}, headers=h
    )
    assert r.status_code == 201, r.text
    summary = r.json()["summary"]
    assert summary["reports"] == 2
    assert summary["by_source"] == {"patrol": 2}
    assert sum(summary["by_category"].values()) == 2
    mid = r.json()["id"]
    minutes = "讨论了垃圾堆放问题，下周重点巡查。"
    body = {"attendees": [leader.id, world.worker.id], "minutes": minutes}
    r = client.put(f"/api/v1/meetings/{mid}", json=body, headers=h)
    assert r.status_code == 200 and r.json()["held_at"]
    listed = client.get(f"/api/v1/grids/{grid.id}/meetings", headers=bearer(world.worker)).json()
    assert [m["id"] for m in listed] == [mid]
    pdf = client.get(f"/api/v1/meetings/{mid}.pdf", headers=h)
    assert pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "网格例会" in text
    assert minutes in text.replace("\n", "")
    assert world.worker.display_name in text


def test_meeting_rules(client: TestClient, db: Session, world, make_user, bearer) -> None:  # noqa: F811
    grid = db.scalar(select(Grid).where(Grid.code == world.grid_code))
    url = f"/api/v1/grids/{grid.id}/meetings"
    assert client.post(url, json={"week_start": "2026-11-30"}).status_code == 401
    assert (
        client.post(
            url, json={"week_start": "2026-11-30"}, headers=bearer(world.worker)
        ).status_code
        == 403
    )
    leader = bearer(make_user("grid_leader", ("grid", grid.code)))
    assert client.post(url, json={"week_start": "2026-12-01"}, headers=leader).status_code == 422
    mid = client.post(url, json={"week_start": "2026-11-30"}, headers=leader).json()["id"]
    stranger = make_user("grid_worker", ("division", "441900101"))
    r = client.put(f"/api/v1/meetings/{mid}", json={"attendees": [stranger.id]}, headers=leader)
    assert r.status_code == 422
    far = bearer(make_user("grid_leader", ("division", "441900102")))
    assert client.get(f"/api/v1/meetings/{mid}.pdf", headers=far).status_code == 404
