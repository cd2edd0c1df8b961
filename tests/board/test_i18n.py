"""Every message of the board and the directory has a zh-CN translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from civgrid.web.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2] / "civgrid"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def _messages(folder: Path) -> set[str]:
    found = extract_from_dir(str(folder), METHODS, keywords={"_": None, "N_": None})
    return {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _x in found}


@pytest.mark.parametrize("package", ["board", "directory"])
def test_board_and_directory_messages_are_translated(package: str) -> None:
    messages = _messages(ROOT / package)
    assert len(messages) > 15
    assert sorted(messages - set(catalogue("zh_CN"))) == []
