"""The ledger at scale: import 100,000 dwellings from XLSX, export them, build a grid book for a
500-household grid (without photos, then with a photo for each of its 100 components and two for
each unit's latest inspection: 160 photos, of which the book prints its bound of 60 + 60), and
serve the map layer over 50,000+ points.

Reference, in the same run: a plain openpyxl read (``read_only=True``, every cell value) of the
same XLSX file. Ratios are civgrid's time over that read's time. Goals (issue 21): the import
under 30 s (reading, checking and writing timed apart), the grid book under 5 s.

The map layer is clustered on the server: one SQL GROUP BY over a 32 × 32 grid of buckets
(``civgrid.ledger.service.map_layer``), timed for the whole town's box.

A scratch SQLite database is built from the demo territory (its divisions and generated grids);
``--url`` runs against another empty database (e.g. a PostgreSQL one) instead.

    .venv/bin/python bench/ledger.py [--dwellings 100000] [--url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from civgrid.cases.attachments import CheckedImage


def build_database(url: str) -> None:
    from civgrid.db.migrate import upgrade
    from civgrid.db.session import session_factory
    from civgrid.demo import load_divisions, load_grids

    upgrade(url)
    with session_factory()() as db:
        load_divisions(db)
        load_grids(db)


def random_points(polygons: list[shapely.Geometry], n: int, rng: np.random.Generator) -> np.ndarray:
    union = shapely.union_all(polygons)
    x0, y0, x1, y1 = union.bounds
    shapely.prepare(union)
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        xy = rng.uniform((x0, y0), (x1, y1), (n, 2))
        keep = xy[shapely.contains_xy(union, xy[:, 0], xy[:, 1])]
        out.append(keep)
        got += len(keep)
    return np.concatenate(out)[:n]


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    book.close()


def openpyxl_read(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    count = sum(1 for _row in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return count


def add_photos(db: Session, grid_code: str) -> int:
    """Photos for the book's grid, stored as uploads are: each component's photo (through the
    action) and two for each unit's latest inspection (rows written directly). The count."""
    import io
    from datetime import UTC, datetime

    from PIL import Image
    from sqlalchemy import select

    from civgrid.calendar.units import TimeUnit
    from civgrid.cases.attachments import check_image, store_image
    from civgrid.inspections.models import (
        ChecklistItem,
        ChecklistTemplate,
        InspectionPhoto,
        InspectionRecord,
        InspectionResult,
        ItemResult,
    )
    from civgrid.ledger.actions import set_component_photo
    from civgrid.ledger.models import Component, LedgerKind, Unit

    def shot() -> CheckedImage:  # a 1280×960 JPEG, noisy like a phone photo, different every time
        img = Image.merge("RGB", [Image.effect_noise((1280, 960), 40) for _ in range(3)])
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        return check_image(buf.getvalue())

    count = 0
    for component in db.scalars(select(Component).where(Component.grid_code == grid_code)):
        set_component_photo(db, component, shot(), actor=None)
        count += 1
    template = ChecklistTemplate(
        code="BENCH", name_zh="消防检查", service_item="G02", target_kind=LedgerKind.UNITS
    )
    template.items = [
        ChecklistItem(
            position=i,
            text_zh=text,
            category_code="G0201",
            limit_amount=3,
            limit_unit=TimeUnit.WORK_DAYS,
        )
        for i, text in enumerate(["灭火器配置", "疏散通道畅通"], start=1)
    ]
    db.add(template)
    db.flush()
    now = datetime.now(UTC)
    for unit in db.scalars(select(Unit).where(Unit.grid_code == grid_code)):
        record = InspectionRecord(
            client_key=f"bench-{unit.id}",
            template_id=template.id,
            target_kind=LedgerKind.UNITS,
            target_id=unit.id,
            grid_code=grid_code,
            inspected_at=now,
        )
        record.results = [
            InspectionResult(item_id=i.id, result=ItemResult.PASS) for i in template.items
        ]
        for item in template.items:
            image = shot()
            store_image(image)
            record.photos.append(
                InspectionPhoto(
                    item_id=item.id,
                    sha256=image.sha256,
                    content_type=image.content_type,
                    size=len(image.data),
                    width=image.width,
                    height=image.height,
                )
            )
            count += 1
        db.add(record)
    db.commit()
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dwellings", type=int, default=100_000)
    parser.add_argument("--url", default="")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="t21-bench-"))
    url = args.url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["CIVGRID_DATABASE_URL"] = url
    os.environ.setdefault("CIVGRID_DATA_DIR", str(tmp))

    from sqlalchemy import select

    from civgrid.db.session import session_factory
    from civgrid.grids.geo import from_text
    from civgrid.grids.models import Grid
    from civgrid.ledger.book import build_book
    from civgrid.ledger.exporter import export_file
    from civgrid.ledger.importer import import_rows, read_table
    from civgrid.ledger.models import LedgerKind
    from civgrid.ledger.schemas import COLUMNS
    from civgrid.ledger.service import map_layer

    t = time.perf_counter()
    build_database(url)
    backend = url.split(":")[0]
    print(f"scratch database with the demo grids in {time.perf_counter() - t:.1f} s ({backend})")
    with session_factory()() as db:
        grids = db.scalars(select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code)).all()
        book_grid = grids[0]
        others = [from_text(g.geometry) for g in grids[1:]]
        book_shape = from_text(book_grid.geometry)

    header = [c.header for c in COLUMNS[LedgerKind.DWELLINGS]]
    points = random_points(others, args.dwellings, rng)
    rows = [
        [
            f"D{i:07d}",
            f"测试路{i // 100 + 1}号{i % 100 + 1}室",
            "",
            int(h),
            "否",
            "否",
            round(x, 7),
            round(y, 7),
        ]
        for i, ((x, y), h) in enumerate(zip(points, rng.integers(1, 4, len(points)), strict=True))
    ]
    path = tmp / "dwellings.xlsx"
    write_xlsx(path, header, rows)
    print(f"{args.dwellings:,} dwellings in {path.stat().st_size / 2**20:.1f} MB of XLSX")

    t = time.perf_counter()
    read_rows = openpyxl_read(path)
    reference_s = time.perf_counter() - t
    print(f"reference: openpyxl read_only read of {read_rows - 1:,} rows in {reference_s:.2f} s")

    marks: dict[str, float] = {}
    t = time.perf_counter()
    head, raw = read_table(path)
    read_s = time.perf_counter() - t
    with session_factory()() as db:
        t = time.perf_counter()
        result = import_rows(
            db,
            LedgerKind.DWELLINGS,
            head,
            raw,
            actor=None,
            progress=lambda phase, _d, _n: marks.setdefault(phase, time.perf_counter()),
        )
        end = time.perf_counter()
    assert result.ok and result.inserted == args.dwellings, result.errors[:3]
    check_s = marks["place"] - t
    write_s = end - marks["place"]
    import_s = read_s + check_s + write_s
    print(
        f"civgrid import: {import_s:.2f} s (read {read_s:.2f} calamine,"
        f" check and place {check_s:.2f},"
        f" write {write_s:.2f}); {import_s / reference_s:.2f}× the openpyxl read; goal < 30 s"
    )

    with session_factory()() as db:
        t = time.perf_counter()
        again = import_rows(db, LedgerKind.DWELLINGS, head, raw, actor=None)
        reimport_s = time.perf_counter() - t
    assert again.unchanged == args.dwellings
    print(f"re-import of the same file (changes nothing): {reimport_s:.2f} s")

    exports = {}
    with session_factory()() as db:
        for suffix in (".xlsx", ".csv"):
            t = time.perf_counter()
            n = export_file(db, LedgerKind.DWELLINGS, tmp / f"out{suffix}", territory="")
            exports[suffix] = time.perf_counter() - t
            assert n == args.dwellings
    print(f"export: xlsx {exports['.xlsx']:.2f} s, csv {exports['.csv']:.2f} s")

    # a 500-household grid: ~200 dwellings, 30 units, 100 components
    from civgrid.ledger.importer import import_rows as load

    inside = random_points([book_shape], 330, rng)
    households = rng.integers(1, 4, 200)
    households[-1] += 500 - int(households.sum())
    with session_factory()() as db:
        dwell = [
            [f"G{i:04d}", f"书册路{i}号", "", int(h), "否", "否", x, y]
            for i, ((x, y), h) in enumerate(zip(inside[:200], households, strict=True))
        ]
        load(db, LedgerKind.DWELLINGS, header, dwell, actor=None)
        units = [
            [
                f"GU{i}",
                f"商店{i}",
                "",
                "商店",
                "",
                "",
                "2027-01-01",
                "合格",
                "店长",
                "0769-1234567",
                x,
                y,
            ]
            for i, (x, y) in enumerate(inside[200:230])
        ]
        load(db, LedgerKind.UNITS, [c.header for c in COLUMNS[LedgerKind.UNITS]], units, actor=None)
        comps = [
            [f"GC{i}", "C01001", "", "", "完好", x, y] for i, (x, y) in enumerate(inside[230:330])
        ]
        load(
            db,
            LedgerKind.COMPONENTS,
            [c.header for c in COLUMNS[LedgerKind.COMPONENTS]],
            comps,
            actor=None,
        )
        grid = db.scalar(select(Grid).where(Grid.code == book_grid.code))
        assert grid is not None
        build_book(db, grid, today=date(2026, 12, 7))  # fonts and templates warm
        t = time.perf_counter()
        bare = build_book(db, grid, today=date(2026, 12, 7))
        book_bare_s = time.perf_counter() - t
        photos = add_photos(db, grid.code)
        t = time.perf_counter()
        pdf = build_book(db, grid, today=date(2026, 12, 7))
        book_s = time.perf_counter() - t
    print(
        f"grid book of a 500-household grid: {book_bare_s:.2f} s, {len(bare) / 1024:.0f} KiB"
        f" without photos; {book_s:.2f} s, {len(pdf) / 1024:.0f} KiB with {photos} photos"
        " (120 printed); goal < 5 s"
    )

    with session_factory()() as db:
        allg = shapely.union_all([from_text(g.geometry) for g in grids])
        bbox = allg.bounds
        times = []
        for _ in range(5):
            t = time.perf_counter()
            layer = map_layer(db, LedgerKind.DWELLINGS, None, bbox)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
        layer_s = sorted(times)[2]
    print(
        f"map layer over {layer['total']:,} points: {len(layer['clusters'])} clusters"
        f" in {layer_s * 1000:.0f} ms (median of 5; server-side grid-bucket clustering)"
    )
    load1, load5, load15 = os.getloadavg()
    print(
        json.dumps(
            {
                "bench": "ledger",
                "dwellings": args.dwellings,
                "openpyxl_read_s": round(reference_s, 3),
                "import_s": round(import_s, 3),
                "import_read_s": round(read_s, 3),
                "import_check_s": round(check_s, 3),
                "import_write_s": round(write_s, 3),
                "import_ratio": round(import_s / reference_s, 3),
                "reimport_s": round(reimport_s, 3),
                "export_xlsx_s": round(exports[".xlsx"], 3),
                "export_csv_s": round(exports[".csv"], 3),
                "export_xlsx_ratio": round(exports[".xlsx"] / reference_s, 3),
                "book_no_photos_s": round(book_bare_s, 3),
                "book_s": round(book_s, 3),
                "book_photos": photos,
                "book_kib": round(len(pdf) / 1024),
                "book_ratio": round(book_s / reference_s, 3),
                "layer_points": layer["total"],
                "layer_ms": round(layer_s * 1000, 1),
                "load": [round(load1, 2), round(load5, 2), round(load15, 2)],
            }
        )
    )


if __name__ == "__main__":
    main()
