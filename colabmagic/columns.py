"""Text in columns as a terminal or a <pre> block shows it: a Chinese (or any East Asian wide)
character takes two columns, so a translated table header is padded by what it shows, not len()."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """How many columns TEXT takes in a monospaced font (wide and full-width characters: two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def padded(text: str, columns: int) -> str:
    """TEXT followed by spaces up to COLUMNS columns (as f"{text:<{columns}}" does for ASCII)."""
    return text + " " * max(0, columns - width(text))
