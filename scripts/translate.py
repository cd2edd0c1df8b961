"""Fill zh-CN translations into civgrid/locale/zh_CN/LC_MESSAGES/messages.po.

Usage: .venv/bin/python scripts/translate.py FILE   (FILE: lines "English msgid<TAB>中文")
Run `make messages` first so that the msgids are in the catalogue; unknown msgids are reported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "civgrid/locale/zh_CN/LC_MESSAGES/messages.po"


def main(pairs_file: str) -> int:
    with PO.open("rb") as fh:
        cat = read_po(fh, locale="zh_CN")
    unknown = []
    for line in Path(pairs_file).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        msgid, _, text = line.partition("\t")
        if msgid not in cat:
            unknown.append(msgid)
            continue
        cat[msgid].string = text
    with PO.open("wb") as fh:
        write_po(fh, cat, width=0, omit_header=False, sort_output=True, no_location=True)
    for msgid in unknown:
        print("not in the catalogue (run make messages):", msgid)
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
