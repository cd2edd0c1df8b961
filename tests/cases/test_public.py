"""The public view of a case: masking personal data in free text, plain-text descriptions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civgrid.cases.public import (
    MAX_PUBLIC_DESCRIPTION,
    check_public_description,
    mask_personal,
    public_status,
)
from civgrid.cases.transitions import CaseState
from civgrid.errors import Invalid


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("call +86 138 1234 5678", "call 138****5678"),
        ("身份证44010119900101123X", "身份证440101************"),
        ("old id 440101900101123", "old id ***************"),
        ("座机 020-87654321", "座机 020-****21"),
        ("mail a.b@example.com now", "mail ***@*** now"),
        # Division and grid codes are not personal and stay readable.
        ("网格44190010100101，村441900101001", "网格44190010100101，村441900101001"),
    ],
)
def test_mask_personal(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.text(alphabet="路口垃圾 ", max_size=5))
def test_no_mobile_number_survives(number: str, filler: str) -> None:
    assert number not in mask_personal(f"{filler}{number}{filler}")


def test_description_rules() -> None:
    assert check_public_description("  井盖缺失 ") == "井盖缺失"
    assert check_public_description("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2"
    for bad in [
        "",
        "   ",
        "<script>alert(1)</script>",
        "a &amp; b",
        "x" * (MAX_PUBLIC_DESCRIPTION + 1),
    ]:
        with pytest.raises(Invalid):
            check_public_description(bad)


def test_public_status() -> None:
    assert public_status(CaseState.HANDLING) == "open"
    assert public_status(CaseState.SUSPENDED) == "open"
    assert {public_status(s) for s in (CaseState.CLOSED, CaseState.MERGED, CaseState.REJECTED)} == {
        "closed"
    }
