"""Regenerate civgrid/data/calendar/cn_holidays.csv from the PyPI package chinesecalendar.

Usage: .venv/bin/python scripts/make_holidays.py 2025 2026
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import chinese_calendar

OUT = Path(__file__).resolve().parent.parent / "civgrid" / "data" / "calendar" / "cn_holidays.csv"
NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
}


def main(years: list[int]) -> None:
    rows = []
    tables = (("holiday", chinese_calendar.holidays), ("workday", chinese_calendar.workdays))
    for kind, table in tables:
        for day, name in table.items():
            if day.year in years:
                rows.append((day.isoformat(), kind, NAMES_ZH.get(name, name), name))
    rows.sort()
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "kind", "name_zh", "name_en"])
        writer.writerows(rows)
    print(f"{len(rows)} days written to {OUT}")


if __name__ == "__main__":
    main([int(y) for y in sys.argv[1:]] or [2025, 2026])
