"""Checks on plain text that every domain shares."""

from __future__ import annotations


def is_digits(value: str) -> bool:
    """True if ``value`` is one or more ASCII digits, 0 to 9.

    ``str.isdigit`` is also true of "²" or "٣": ``int()`` refuses the first (a 500 where a
    422 was meant) and reads the second, and no code or number of ours is written with them.
    """
    return value.isascii() and value.isdigit()
