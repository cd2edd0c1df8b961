"""Enumerations that carry their own labels, colour and group (NetBox's ChoiceSet idea)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class LabelledEnum(StrEnum):
    """A string enum whose members carry zh-CN and en labels, a colour and a group.

    Members are declared as ``NAME = ("value", "中文", "English", "colour", "group")``.
    """

    label_zh: str
    label_en: str
    colour: str
    group: str

    def __new__(
        cls,
        value: str,
        label_zh: str = "",
        label_en: str = "",
        colour: str = "grey",
        group: str = "",
    ) -> Any:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label_zh = label_zh or value
        obj.label_en = label_en or value
        obj.colour = colour
        obj.group = group
        return obj

    def label(self, locale: str = "zh_CN") -> str:
        """The label in the given locale (zh-CN unless English is asked for)."""
        return self.label_en if locale.startswith("en") else self.label_zh
