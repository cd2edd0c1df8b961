"""Loading the catalogue, searching it, the published matter list, time limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civgrid.calendar.units import TimeUnit
from civgrid.catalogue.actions import LoadResult, load_catalogue, set_time_limit, update_category
from civgrid.catalogue.models import Category, CategoryKind, Stage
from civgrid.catalogue.service import (
    ensure_assignable_to_grid_worker,
    get_category,
    search_categories,
    time_limit_for,
)
from civgrid.errors import Forbidden, Invalid


def test_counts_and_references(db: Session, catalogue: LoadResult) -> None:
    kinds = dict(db.execute(select(Category.kind, func.count()).group_by(Category.kind)).all())
    assert kinds == {
        CategoryKind.COMPONENT: 153,
        CategoryKind.MATTER: 250,
        CategoryKind.SERVICE_ITEM: 49,
    }
    manhole = get_category(db, "M01001")
    assert manhole.name_zh == "供水井盖异常"
    assert manhole.standard_ref == "GB/T 47678.5-2026 C.1 01001"
    assert get_category(db, "C01001").standard_ref == "GB/T 47678.5-2026 A.1 01001"
    assert get_category(db, "G02001").is_major_emergency
    assert get_category(db, "G17001").is_staff_complaint
    # 54 of the example's 66 subclasses keep their name, 11 were renamed, 液化气站 has no match.
    assert catalogue.matched_example_limits == 65


def test_english_names_for_every_national_row(db: Session, catalogue: LoadResult) -> None:
    missing = db.scalar(
        select(func.count())
        .select_from(Category)
        .where((Category.name_en == "") | (Category.major_name_en == ""))
    )
    assert missing == 0
    assert get_category(db, "M06010").name_en == "Exposed rubbish"
    assert get_category(db, "C01001").name_en == "Water supply manhole cover"
    assert get_category(db, "M01001").name_en == "Water supply manhole cover defect"
    assert get_category(db, "M06010").major_name_en == "City appearance and environment"


def test_reload_keeps_the_admins_wording(db: Session, catalogue: LoadResult, make_user) -> None:
    admin = make_user("admin", ("all", ""))
    update_category(db, get_category(db, "M06010"), actor=admin, name_en="Uncollected rubbish")
    other = get_category(db, "M06011")
    other.name_en = "stale text from an older file"
    db.commit()
    again = load_catalogue(db)
    assert again.updated == 1
    assert get_category(db, "M06010").name_en == "Uncollected rubbish"
    assert get_category(db, "M06011").name_en == "Accumulated rubbish or muck"


def test_renamed_subclasses_get_the_example_limits(db: Session, catalogue: LoadResult) -> None:
    # 上水井盖 in the example city's standard is 供水井盖 in GB/T 47678.5-2026.
    water = get_category(db, "M01001")
    assert time_limit_for(db, water, Stage.HANDLE) == (2.0, TimeUnit.EMERGENCY_HOURS)
    # 垃圾箱（果皮箱、桶）→ 垃圾箱: its first condition (tilted, door open) is 1 working day.
    bin_limit = time_limit_for(db, get_category(db, "M03005"), Stage.HANDLE)
    assert bin_limit == (1.0, TimeUnit.WORK_DAYS)


def test_reload_is_idempotent_and_keeps_admin_flags(db: Session, catalogue: LoadResult) -> None:
    c = get_category(db, "M06001")
    c.is_published = False
    db.commit()
    again = load_catalogue(db)
    assert (again.inserted, again.updated, again.time_limits) == (0, 0, 0)
    assert get_category(db, "M06001").is_published is False


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("欠薪", "G13001"),
        ("unpaid", "G13001"),
        ("tuoqiangongzi", "G13001"),
        ("tqgz", "G13001"),
        ("G13001", "G13001"),
        ("燃气", "G02002"),
        ("bllj", "M06010"),
        ("manhole", "M01001"),
        ("Exposed rubbish", "M06010"),
        ("劳动保障", "G13002"),
        ("street order", "M09009"),
    ],
)
def test_search_in_every_script(db: Session, catalogue: LoadResult, q: str, code: str) -> None:
    assert code in [c.code for c in search_categories(db, q, limit=50)]


def test_search_ranks_own_names_before_class_matches(db: Session, catalogue: LoadResult) -> None:
    # 交通设施类 holds 44 matters; those named 交通… come first.
    top = search_categories(db, "交通", limit=5)
    assert len(top) == 5
    assert all("交通" in c.name_zh for c in top)
    assert search_categories(db, "m06010")[0].code == "M06010"


def test_pinyin_ranks_like_the_chinese_it_spells(db: Session, catalogue: LoadResult) -> None:
    # "laji" is 垃圾: the rubbish categories come first, as for 垃圾, not 露天焚烧 (G10003),
    # whose everyday word 烧垃圾 only holds it (it used to come first, by its code).
    for q in ("laji", "垃圾"):
        top = [c.code for c in search_categories(db, q, published_only=True, limit=5)]
        assert top[0] == "M06010", (q, top)
        assert "G10003" not in top, (q, top)
    assert search_categories(db, "shaolaji", published_only=True)[0].code in ("G10003", "M06020")


def test_search_ignores_wildcards(db: Session, catalogue: LoadResult) -> None:
    assert search_categories(db, "%") == []
    assert search_categories(db, "_") == []


def test_search_by_kind(db: Session, catalogue: LoadResult) -> None:
    assert [c.code for c in search_categories(db, "供水井盖", kinds=["component"])] == ["C01001"]
    with pytest.raises(Invalid, match="unknown category kind"):
        search_categories(db, "井盖", kinds=["manhole"])


def test_published_list_decides_what_grid_workers_get(db: Session, catalogue: LoadResult) -> None:
    c = get_category(db, "G13003")
    ensure_assignable_to_grid_worker(c)
    c.is_published = False
    with pytest.raises(Invalid, match="not on the published matter list"):
        ensure_assignable_to_grid_worker(c)
    assert "G13003" not in [x.code for x in search_categories(db, "童工", published_only=True)]


def test_time_limits_fall_back_from_category_to_default(
    db: Session, catalogue: LoadResult, make_user
) -> None:
    admin = make_user("admin", ("all", ""))
    manhole = get_category(db, "M01002")  # the example city's 污水井盖: 2 emergency hours
    assert time_limit_for(db, manhole, Stage.HANDLE) == (2.0, TimeUnit.EMERGENCY_HOURS)
    graffiti = get_category(db, "G07002")
    assert time_limit_for(db, graffiti, Stage.HANDLE) == (5, TimeUnit.WORK_DAYS)
    set_time_limit(db, None, Stage.HANDLE, 3, TimeUnit.WORK_DAYS, actor=admin)
    assert time_limit_for(db, graffiti, Stage.HANDLE) == (3, TimeUnit.WORK_DAYS)
    set_time_limit(db, graffiti, Stage.HANDLE, 4, TimeUnit.WORK_HOURS, actor=admin)
    assert time_limit_for(db, graffiti, Stage.HANDLE) == (4, TimeUnit.WORK_HOURS)
    for bad in (-1, 0, float("nan")):
        with pytest.raises(Invalid, match="must be positive"):
            set_time_limit(db, graffiti, Stage.HANDLE, bad, TimeUnit.WORK_HOURS, actor=admin)
    with pytest.raises(Forbidden):
        set_time_limit(
            db,
            graffiti,
            Stage.HANDLE,
            1,
            TimeUnit.WORK_HOURS,
            actor=make_user("dispatcher", ("division", "441900101")),
        )


def test_search_understands_everyday_phrasings(db: Session, catalogue: LoadResult) -> None:
    from tests.catalogue.phrasings import EN, ZH

    assert len(ZH) >= 50 and len(EN) >= 50
    missed = []
    for q, codes in ZH + EN:
        top = [c.code for c in search_categories(db, q, published_only=True, limit=3)]
        if not set(codes.split()) & set(top):
            missed.append((q, codes, top))
    assert missed == []


def test_public_pickers_show_a_twin_category_once(db: Session, catalogue: LoadResult) -> None:
    # 占道经营 is both a grid service item (G07001) and a national matter (M09006)
    public = [c.code for c in search_categories(db, "占道经营", published_only=True)]
    assert public.count("G07001") + public.count("M09006") == 1
    staff = [c.code for c in search_categories(db, "占道经营")]
    assert {"G07001", "M09006"} <= set(staff)
