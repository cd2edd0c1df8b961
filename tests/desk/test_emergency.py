"""Emergencies (火情火灾, 燃气泄漏 …): continuous-hour limits, first in every desk list with a
banner, and "call 119 / 110 / 120 now" before the report forms."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.models import Stage
from civgrid.catalogue.service import effective_time_limits, time_limit_for
from tests.desk.conftest import World


def test_major_emergencies_run_on_continuous_hours_at_every_stage(world: World) -> None:
    for stage in Stage:
        assert time_limit_for(world.db, world.major, stage)[1] == TimeUnit.EMERGENCY_HOURS
    assert time_limit_for(world.db, world.category, Stage.HANDLE) == (5, TimeUnit.WORK_DAYS)
    sources = {source for _s, _a, _u, source in effective_time_limits(world.db, world.major)}
    assert sources == {"emergency"}
    case = world.report(category=world.major)
    assert case.due_unit == TimeUnit.EMERGENCY_HOURS
    assert case.due_at is not None and case.due_at - case.reported_at <= timedelta(hours=1)
    world.drive(case, "register", "dispatch")
    assert case.due_unit == TimeUnit.EMERGENCY_HOURS


def test_emergencies_come_first_on_the_desk_with_a_banner(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    ordinary = world.report()
    urgent = world.report(category=world.major)
    as_user(world.dispatcher)
    page = client.get("/desk/command").text
    assert "紧急案件 1 件" in page
    incoming = page.split('id="q-incoming"')[1].split("</section>")[0]
    assert incoming.index(urgent.number) < incoming.index(ordinary.number)
    assert "紧急</strong>" in incoming

    world.drive(ordinary, "register", "dispatch")
    world.drive(urgent, "register", "dispatch")
    as_user(world.handler)
    queue = client.get("/desk/queue").text
    assert queue.index(urgent.number) < queue.index(ordinary.number)


def test_report_forms_say_call_119_first(world: World, client: TestClient, as_user) -> None:  # type: ignore[no-untyped-def]
    portal = client.get("/portal/report", headers={"accept-language": "zh-CN"}).text
    assert portal.index('href="tel:119"') < portal.index('id="report-form"')
    as_user(world.worker)
    field = client.get("/field/report").text
    assert field.index('href="tel:120"') < field.index('action="/field/report"')
