"""Every message of the desk pages has a zh-CN translation; English through ?lang=en."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient

from civgrid.web.i18n import catalogue
from tests.desk.conftest import World

ROOT = Path(__file__).resolve().parents[2] / "civgrid"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _messages(folder: Path) -> set[str]:
    found = extract_from_dir(str(folder), METHODS, keywords={"_": None, "N_": None})
    return {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _x in found}


def test_desk_and_layout_messages_are_translated() -> None:
    messages = _messages(ROOT / "desk") | _messages(ROOT / "web")
    assert len(messages) > 100
    assert sorted(messages - set(catalogue("zh_CN"))) == []


def test_pages_default_to_chinese_and_switch_to_english(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    as_user(world.dispatcher)
    zh = client.get("/desk/command")
    assert '<html lang="zh-CN">' in zh.text
    assert "指挥中心" in zh.text
    en = client.get("/desk/command?lang=en")
    assert '<html lang="en">' in en.text
    assert "Command center" in en.text
    assert client.cookies.get("lang") == "en"  # the switch sticks
    assert "Command center" in client.get("/desk/command").text


def test_times_are_shown_in_the_deployment_time_zone(
    world: World, client: TestClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    case = world.report()
    as_user(world.dispatcher)
    text = client.get(f"/desk/cases/{case.number}").text
    shown = case.reported_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert shown.strftime("%Y-%m-%d %H:%M") in text
