"""Every message of the care, mediation and notice pages has a zh-CN translation."""

from __future__ import annotations

from civgrid.web.i18n import catalogue
from tests.desk.test_i18n import ROOT, _messages


def test_service_messages_are_translated() -> None:
    messages = set().union(*(_messages(ROOT / p) for p in ("care", "mediation", "notices")))
    assert len(messages) > 100
    assert sorted(messages - set(catalogue("zh_CN"))) == []
