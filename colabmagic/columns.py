"""Text in columns as a terminal or a <pre> block shows it: a Chinese (or any East Asian wide)
character takes two columns, so a translated table header is padded by what it shows, not len()."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """How many columns TEXT takes in a monospaced font (wide and full-width characters: two)."""
    if text.isascii():  # the common case, and a hot one (every %resources refresh)
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def padded(text: str, columns: int, *, right: bool = False) -> str:
    """TEXT padded with spaces to COLUMNS columns, after it (or before it, RIGHT-aligned), as
    f"{text:<{columns}}" does for ASCII."""
    room = " " * max(0, columns - width(text))
    return room + text if right else text + room
