"""The columns of each ledger kind: headers (zh-CN and en), how a cell is read and checked.

One spec serves the Excel template, the import, the export and the field form, so the five
kinds are read the same way wherever they come from. The licences sheet (units' licences in
bulk) has its columns here too and goes through the same template, import and export.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from civgrid.choices import LabelledEnum
from civgrid.ledger.models import (
    BuildingUse,
    ComponentState,
    FireStatus,
    LedgerKind,
    LicenceKind,
    UnitKind,
)
from civgrid.text import is_digits
from civgrid.web.i18n import N_

# Mainland China, with a margin: a point outside is a typo (swapped lon/lat, a missing digit).
LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,28}$")
TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "✓"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", ""}


class CellError(ValueError):
    """A cell that cannot be read: an English msgid (translated where shown) and its values."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """One column of a kind: the model field, its headers, how to read a cell, its choices."""

    field: str
    zh: str
    en: str
    read: Reader
    required: bool = False
    choices: tuple[str, ...] = ()  # for the template's data-validation list
    example: str = ""
    enum: type[LabelledEnum] | None = None  # the choices' labels in the page's language
    show: Callable[[Any], Any] | None = None  # the kept value as a sheet or form shows it
    geometry: bool = False  # a footprint or line: a wide form field, not in list tables

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


def _text(limit: int) -> Reader:
    def read(value: Any) -> str:
        text = _plain(value)
        if len(text) > limit:
            raise CellError(N_("longer than %(limit)s characters"), limit=limit)
        return text

    return read


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _int(value: Any) -> int:
    text = _plain(value)
    try:
        number = int(float(text)) if text else 0
    except ValueError:
        raise CellError(N_("not a whole number: %(value)s"), value=text[:40]) from None
    if number < 0 or float(text or 0) != number:
        raise CellError(N_("not a whole number ≥ 0: %(value)s"), value=text[:40])
    return number


def _float(low: float, high: float) -> Reader:
    def read(value: Any) -> float:
        text = _plain(value)
        try:
            number = float(text)
        except ValueError:
            raise CellError(N_("not a number: %(value)s"), value=text[:40]) from None
        if not low <= number <= high:
            raise CellError(
                N_("%(value)s is outside %(low)s–%(high)s"), value=text[:40], low=low, high=high
            )
        return number

    return read


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _plain(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(N_("write 是 or 否 (yes or no), not %(value)s"), value=text[:40])


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _plain(value)
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    raise CellError(N_("not a date (write 2026-12-31): %(value)s"), value=text[:40])


def _choice(enum: type[LabelledEnum]) -> Reader:
    lookup: dict[str, StrEnum] = {}
    for member in enum:
        for word in (member.value, member.label_zh, member.label_en):
            lookup[word.lower()] = member

    def read(value: Any) -> StrEnum:
        text = _plain(value)
        found = lookup.get(text.lower())
        if found is None:
            raise CellError(N_("not one of the listed choices: %(value)s"), value=text[:40])
        return found

    return read


def _credit_code(value: Any) -> str:
    text = _plain(value).upper()
    if text and not CREDIT_CODE.match(text):
        raise CellError(N_("not an 18-character unified social credit code: %(value)s"), value=text)
    return text


def _phone(value: Any) -> str:
    text = _plain(value)
    if text and not PHONE.match(text):
        raise CellError(N_("not a phone number: %(value)s"), value=text[:40])
    return text


@lru_cache
def component_classes() -> dict[str, str]:
    """The 153 GB/T 47678.5 component classes of the catalogue: code (C01001) → zh name."""
    import csv

    from civgrid.catalogue.loader import DATA

    with (DATA / "gbt47678_5_2026.csv").open(encoding="utf-8") as fh:
        return {"C" + r["code"]: r["name"] for r in csv.DictReader(fh) if r["kind"] == "component"}


def _class_code(value: Any) -> str:
    text = _plain(value).upper()
    if is_digits(text):
        text = "C" + text.zfill(5)
    if text not in component_classes():
        raise CellError(N_("not a GB/T 47678.5 component class code: %(value)s"), value=text[:20])
    return text


def _code(value: Any) -> str:
    text = _plain(value)
    if len(text) > 64:
        raise CellError(N_("longer than %(limit)s characters"), limit=64)
    return text


def _geometry(allowed: tuple[str, ...]) -> Reader:
    def read(value: Any) -> str | None:
        from civgrid.ledger.geometry import read_geometry  # it reads CellError from here

        return read_geometry(value, allowed)

    return read


def _wkt(value: Any) -> str:
    from civgrid.ledger.geometry import as_wkt

    return as_wkt(value)


def _labels(enum: type[LabelledEnum]) -> tuple[str, ...]:
    return tuple(m.label_zh for m in enum)


CODE = Column("code", "编码", "code", _code, example="")
LON = Column("lon", "经度", "longitude", _float(*LON_RANGE), required=True, example="113.8050")
LAT = Column("lat", "纬度", "latitude", _float(*LAT_RANGE), required=True, example="23.0950")
YES_NO = ("是", "否")
FOOTPRINT = Column(
    "footprint",
    "轮廓（WKT）",
    "footprint (WKT)",
    _geometry(("Polygon", "MultiPolygon")),
    example="POLYGON ((113.8049 23.0949, 113.8051 23.0949, 113.8051 23.0951, 113.8049 23.0949))",
    show=_wkt,
    geometry=True,
)
COMPONENT_LINE = Column(
    "shape",
    "线位（WKT）",
    "line (WKT)",
    _geometry(("LineString", "MultiLineString")),
    example="LINESTRING (113.8048 23.095, 113.8052 23.095)",
    show=_wkt,
    geometry=True,
)

COLUMNS: dict[LedgerKind, tuple[Column, ...]] = {
    LedgerKind.ADDRESSES: (
        CODE,
        Column("road", "道路（街巷）", "road", _text(100), required=True, example="石龙路"),
        Column("number", "门牌号", "street number", _text(20), example="12号"),
        Column("compound", "小区（院落）", "compound", _text(100), example="锦绣花园"),
        Column("building", "楼栋", "building", _text(20), example="3栋"),
        Column("entrance", "单元", "entrance", _text(20), example="2单元"),
        Column("room", "房号", "room", _text(20), example="501"),
        LON,
        LAT,
    ),
    LedgerKind.BUILDINGS: (
        CODE,
        Column("name", "名称", "name", _text(100), example="锦绣花园3栋"),
        Column("address", "地址", "address", _text(300), required=True, example="石龙路12号3栋"),
        Column("floors", "层数", "floors", _int, example="6"),
        Column(
            "use",
            "用途",
            "use",
            _choice(BuildingUse),
            required=True,
            choices=_labels(BuildingUse),
            enum=BuildingUse,
            example="住宅",
        ),
        LON,
        LAT,
        FOOTPRINT,
    ),
    LedgerKind.DWELLINGS: (
        CODE,
        Column("address", "地址", "address", _text(300), required=True, example="石龙路12号3栋501"),
        Column("building_code", "楼栋编码", "building code", _code, example=""),
        Column("households", "户数", "households", _int, required=True, example="1"),
        Column("is_rental", "出租", "rental", _bool, choices=YES_NO, example="否"),
        Column("is_vacant", "空置", "vacant", _bool, choices=YES_NO, example="否"),
        LON,
        LAT,
    ),
    LedgerKind.UNITS: (
        CODE,
        Column("name", "单位名称", "name", _text(200), required=True, example="石碣好味餐馆"),
        Column("credit_code", "统一社会信用代码", "credit code", _credit_code, example=""),
        Column(
            "kind",
            "类型",
            "kind",
            _choice(UnitKind),
            required=True,
            choices=_labels(UnitKind),
            enum=UnitKind,
            example="餐饮店",
        ),
        Column("address", "地址", "address", _text(300), example="石龙路12号"),
        Column("licence_no", "许可证号", "licence no.", _text(60), example="JY14419000000001"),
        Column("licence_expires", "许可证有效期至", "licence expires", _date, example="2027-06-30"),
        Column(
            "fire_status",
            "消防状态",
            "fire-safety status",
            _choice(FireStatus),
            choices=_labels(FireStatus),
            enum=FireStatus,
            example="合格",
        ),
        Column("contact_title", "联系人职务", "contact (job title)", _text(50), example="店长"),
        Column("work_phone", "工作电话", "work phone", _phone, example="0769-86000000"),
        LON,
        LAT,
    ),
    LedgerKind.COMPONENTS: (
        CODE,
        Column(
            "class_code", "部件类别代码", "class code", _class_code, required=True, example="C01001"
        ),
        Column("owner", "权属单位", "owner", _text(100), example="镇水务所"),
        Column("maintainer", "养护单位", "maintainer", _text(100), example="镇水务所"),
        Column(
            "state",
            "状态",
            "state",
            _choice(ComponentState),
            choices=_labels(ComponentState),
            enum=ComponentState,
            example="完好",
        ),
        LON,
        LAT,
        COMPONENT_LINE,
    ),
}


class LicenceSheet(LabelledEnum):
    """The licences sheet (证照表): not a ledger kind of its own, a licence belongs to a unit."""

    LICENCES = ("licences", "证照", "Licences")


# What `civgrid ledger template|import|export KIND` and the file routes take.
Sheet = LedgerKind | LicenceSheet
SHEETS: tuple[Sheet, ...] = (*LedgerKind, *LicenceSheet)

# A row is one licence of one unit, named by its ledger code or its credit code (one of them).
UNIT_REF = ("unit_code", "credit_code")
LICENCE_COLUMNS: tuple[Column, ...] = (
    Column("unit_code", "单位编码", "unit code", _code, example="U-0001"),
    Column("credit_code", "统一社会信用代码", "credit code", _credit_code, example=""),
    Column(
        "kind",
        "证照类型",
        "licence kind",
        _choice(LicenceKind),
        required=True,
        choices=_labels(LicenceKind),
        enum=LicenceKind,
        example="食品经营许可证",
    ),
    Column(
        "number", "证照编号", "licence no.", _text(60), required=True, example="JY14419000000001"
    ),
    Column("issuer", "发证机关", "issuer", _text(100), example="东莞市市场监督管理局"),
    Column("expires_on", "有效期至", "expires", _date, example="2027-06-30"),
)


def sheet_of(value: str) -> Sheet:
    """The sheet named ``value`` (a ledger kind or ``licences``); ValueError if none."""
    for sheet in SHEETS:
        if sheet.value == value:
            return sheet
    raise ValueError(value)


def sheet_columns(sheet: Sheet) -> tuple[Column, ...]:
    return LICENCE_COLUMNS if isinstance(sheet, LicenceSheet) else COLUMNS[sheet]


def normalise_address(text: str) -> str:
    """The address as a match key: full-width folded (NFKC), no spaces or punctuation, lower."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def address_text(row: dict[str, Any]) -> str:
    """A standard address written out, road first (石龙路12号锦绣花园3栋2单元501)."""
    parts = ("road", "number", "compound", "building", "entrance", "room")
    return "".join(str(row.get(p) or "") for p in parts)


def derived_code(kind: LedgerKind, row: dict[str, Any]) -> str:
    """The key of a row without a code, so that re-imports match: the normalised address (with
    the name for a unit; the class and point for a component)."""
    import hashlib

    if kind == LedgerKind.ADDRESSES:
        text = address_text(row)
    elif kind == LedgerKind.UNITS:
        text = f"{row.get('name', '')}@{row.get('address', '')}"
    elif kind == LedgerKind.COMPONENTS:
        text = f"{row.get('class_code', '')}@{row.get('lon', 0):.6f},{row.get('lat', 0):.6f}"
    else:
        text = str(row.get("address", ""))
    key = normalise_address(text)
    if not key:
        return ""
    return f"{kind.value[0].upper()}-" + hashlib.sha1(key.encode()).hexdigest()[:16]  # noqa: S324


def read_row(
    kind: LedgerKind, cells: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, CellError]]]:
    """One row read by the kind's columns: (values by field, [(field, error) …])."""
    values, errors = read_cells(COLUMNS[kind], cells)
    for col in COLUMNS[kind]:
        if col.geometry and values.get(col.field):
            from civgrid.ledger.geometry import check_near_point

            far = check_near_point(values[col.field], values.get("lon"), values.get("lat"))
            if far is not None:
                errors.append((col.field, far))
    if not errors and not values.get("code"):
        values["code"] = derived_code(kind, values)
        if not values["code"]:
            errors.append(("code", CellError(N_("give a code or an address"))))
    return values, errors


def read_cells(
    columns: tuple[Column, ...], cells: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, CellError]]]:
    """Cells read by their columns: (values by field, [(field, error) …])."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, CellError]] = []
    for col in columns:
        raw = cells.get(col.field)
        if col.required and _plain(raw) == "":
            errors.append((col.field, CellError(N_("required"))))
            continue
        if _plain(raw) == "" and col.field in DEFAULTS:
            values[col.field] = DEFAULTS[col.field]
            continue
        try:
            values[col.field] = col.read(raw)
        except CellError as exc:
            errors.append((col.field, exc))
    return values, errors


DEFAULTS: dict[str, Any] = {
    "floors": 1,
    "is_rental": False,
    "is_vacant": False,
    "fire_status": FireStatus.UNCHECKED,
    "state": ComponentState.INTACT,
    "licence_expires": None,
}
