"""Every message of the portal pages has a zh-CN translation."""

from __future__ import annotations

from civgrid.web.i18n import catalogue
from tests.desk.test_i18n import ROOT, _messages


def test_portal_messages_are_translated() -> None:
    messages = _messages(ROOT / "portal")
    assert len(messages) > 60
    assert sorted(messages - set(catalogue("zh_CN"))) == []


def test_portal_pages_switch_to_english(client) -> None:  # type: ignore[no-untyped-def]
    assert "我要报事" in client.get("/portal").text
    english = client.get("/portal?lang=en").text
    assert "Something wrong in your neighbourhood?" in english
