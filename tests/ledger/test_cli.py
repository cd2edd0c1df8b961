"""`civgrid ledger …` on the command line: template, refused files, a clear exit code."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from civgrid.cli import app


def test_template_and_a_file_that_is_not_a_spreadsheet(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "components.xlsx"
    r = runner.invoke(app, ["ledger", "template", "components", "--out", str(out)])
    assert r.exit_code == 0, r.output
    header = [c.value for c in openpyxl.load_workbook(out).worksheets[0][1]]
    assert header[:2] == ["编码 code", "部件类别代码 class code"]
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    r = runner.invoke(app, ["ledger", "import", "units", str(bad)])
    assert r.exit_code == 1
    assert "不是表格文件" in r.output
    r = runner.invoke(app, ["ledger", "template", "people", "--out", str(out)])
    assert r.exit_code != 0
