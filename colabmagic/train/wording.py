"""Words in the user's language, put together: sentences made of sentences, and their width on a screen.

errors.Message.of formats a value that is a Message into plain text, so the options it names are
lost to the magic (`--batch-size` would read `batch_size=`). `compose` keeps them: a Message value
is spliced in part by part, so a translator still sees one whole sentence with its {fields}.
A Chinese character takes two terminal columns: `padded` aligns a translated table's columns.
"""

from __future__ import annotations

import unicodedata

from ..errors import Message, Option


def compose(template: str, **values: object) -> Message:
    """Message.of(template, **values), with each Message value's parts (its Options) kept."""
    slots = {name: Option(f"\0{name}") for name, value in values.items() if isinstance(value, Message)}
    sentence = Message.of(template, **{**values, **slots})
    parts: list[str | Option] = []
    for part in sentence.parts:
        spliced = next((values[name] for name, slot in slots.items() if part == slot), None)
        parts.extend(spliced.parts if spliced is not None else (part,))
    return Message(*parts)


def joined(messages: list[Message | str], separator: str) -> Message:
    """MESSAGES one after another with SEPARATOR between them, as one Message."""
    parts: list[str | Option] = []
    for i, message in enumerate(messages):
        if i:
            parts.append(separator)
        parts.extend(message.parts if isinstance(message, Message) else (message,))
    return Message(*parts)


def text_columns(text: str) -> int:
    """Terminal columns TEXT takes: a wide (CJK) character takes two, so translated labels still line up."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def padded(text: str, width: int) -> str:
    """TEXT left-aligned in WIDTH terminal columns (str.ljust counts characters, not columns)."""
    return text + " " * max(width - text_columns(text), 0)
