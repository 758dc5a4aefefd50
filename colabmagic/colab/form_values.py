"""Between a form field's three faces: the Python value the cell's variable holds, the text the
cell's source shows after `=`, and the value its widget holds.

A widget's entry becomes a `Choice` (the value and the source text that gives it); a variable's
value becomes a widget entry again when the cell has run, or None where it does not fit the field
(the widget then keeps what the source says, as Colab's form shows the source).
"""

from __future__ import annotations

import ast
import datetime
import decimal
from dataclasses import dataclass

from ..errors import ColabMagicError, shown
from ..locale import tr
from .form_annotations import Field
from .form_syntax import comment_start


class FieldValueError(ColabMagicError):
    """A value typed into a raw field that Python cannot evaluate; the variable keeps its value."""


@dataclass(frozen=True)
class Choice:
    value: object
    text: str


def _quoted(text: str, like: str) -> str:
    written = repr(text)
    if like.lstrip()[:1] == '"' and written.startswith("'") and '"' not in text:
        return '"' + written[1:-1].replace("\\'", "'") + '"'
    return written


def _literal(value, like: str) -> str:
    return _quoted(value, like) if isinstance(value, str) else repr(value)


def _decimals(step: float) -> int:
    """How many decimals a slider of STEP has: its values are rounded to them (0.1 * 3 is
    0.30000000000000004 in binary; the source says 0.3)."""
    return max(0, -decimal.Decimal(repr(step)).normalize().as_tuple().exponent)


def integral_slider(field: Field) -> bool:
    return all(isinstance(x, int) for x in (field.minimum, field.maximum, field.step))


def labels(field: Field) -> list[str]:
    """What a dropdown shows for each choice: the expression for a raw one, else the value."""
    return [str(option) for option in field.options]


def _evaluated(text: str, namespace: dict):
    try:
        return eval(compile(text, "<form field>", "eval"), namespace)  # what running the cell would do
    except Exception as err:
        raise FieldValueError(tr("{text} is not a Python value here: {error}: {reason}").format(
            text=shown(text, 40), error=type(err).__name__, reason=err)) from None


def _option(field: Field, index: int, namespace: dict) -> Choice:
    option = field.options[index]
    if field.raw:
        text = option if isinstance(option, str) else repr(option)
        return Choice(_evaluated(text, namespace), text)
    return Choice(option, _literal(option, field.source))


def choose(field: Field, entry, namespace: dict) -> Choice:
    """The value and source text for ENTRY, what FIELD's widget now holds."""
    kind = field.kind
    if kind == "dropdown":
        if isinstance(entry, int):
            return _option(field, entry, namespace)
        if entry in labels(field):
            return _option(field, labels(field).index(entry), namespace)
        if field.raw:
            return Choice(_evaluated(entry.strip(), namespace), entry.strip())
        return Choice(entry, _quoted(entry, field.source))
    if kind == "raw":
        return Choice(_evaluated(entry.strip(), namespace), entry.strip())
    if kind == "string":
        return Choice(entry, _quoted(entry, field.source))
    if kind == "date":
        value = entry.isoformat() if entry else ""
        return Choice(value, _quoted(value, field.source))
    if kind == "boolean":
        return Choice(bool(entry), repr(bool(entry)))
    if kind == "integer" or kind == "slider" and integral_slider(field):
        return Choice(int(round(entry)), str(int(round(entry))))
    if kind == "slider":
        value = round(float(entry), _decimals(field.step))
        return Choice(value, repr(value))
    value = float(entry)
    integral_source = isinstance(literal(field), int) and value.is_integer()
    return Choice(value, str(int(value)) if integral_source else repr(value))


def literal(field: Field):
    """The value the source writes for FIELD, or None where it is not a literal (`lr = base / 10`)."""
    try:
        return ast.literal_eval(field.source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def entry_for(field: Field, value):
    """The widget entry that shows VALUE in FIELD, or None where VALUE does not fit it."""
    kind = field.kind
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "dropdown":
        if not field.raw and value in field.options:
            return list(field.options).index(value)
        return value if field.allow_input and isinstance(value, str) and not field.raw else None
    if kind in ("string", "boolean"):
        return value if isinstance(value, {"string": str, "boolean": bool}[kind]) else None
    if kind == "date":
        try:
            return datetime.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "number":
        return float(value) if number else None
    if kind == "slider":
        return value if number and field.minimum <= value <= field.maximum else None
    return None


def source_entry(field: Field):
    """The entry a field's widget starts with, from the source alone (before the cell has run)."""
    if field.kind == "raw":
        return field.source
    if field.kind == "dropdown" and field.raw:
        text = field.source.strip()
        found = [i for i, option in enumerate(labels(field)) if option == text]
        return found[0] if found else (text if field.allow_input else None)
    return entry_for(field, literal(field))


def rewrite(line: str, field: Field, text: str) -> str:
    """LINE with FIELD's value expression replaced by TEXT; the name, the spacing before the
    comment and the annotation stay as written."""
    start = field.span[0]
    end = comment_start(line)
    value_end = start + len(line[start:end].rstrip())
    return line[:start] + text + line[value_end:]
