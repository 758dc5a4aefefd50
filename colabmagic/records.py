"""Records one process writes and another reads (a kernel and the Jupyter server may run different
colabmagic versions): JSON objects that say what they are and which format version wrote them.

The rules (DESIGN §3): a reader ignores keys it does not know (a newer minor version added them),
and refuses a newer major version instead of misreading it. `fields_of` keeps a dataclass's own
fields out of a record that may hold more.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

# the two keys every record carries (named so that no record's own field takes them: TensorBoard's
# registry has a "version" of its own)
FORMAT = "record_format"
VERSION = "record_version"


class NewerRecord(ValueError):
    """A record written by a newer, incompatible colabmagic."""


def encode(kind: str, version: int, values: dict[str, Any]) -> bytes:
    """VALUES as a `kind` record of format `version` (the major version: readers refuse a larger one)."""
    if FORMAT in values or VERSION in values:
        raise ValueError(f"a record's own fields cannot be named {FORMAT} or {VERSION}")
    return json.dumps({FORMAT: kind, VERSION: version, **values}, indent=1, sort_keys=True,
                      allow_nan=False).encode("utf-8")


def decode(kind: str, version: int, data: bytes | None) -> dict[str, Any] | None:
    """The record's values; None when DATA is no `kind` record (missing, not JSON, another kind).
    A record without a version is version 1's (written before records carried one). NewerRecord
    when its version is above ours."""
    if data is None:
        return None
    try:
        values = json.loads(data, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(values, dict) or values.get(FORMAT, kind) != kind:
        return None
    written = values.get(VERSION, 1)
    if not isinstance(written, int) or isinstance(written, bool):
        return None
    if written > version:
        raise NewerRecord(f"a {kind} record of version {written}, written by a newer colabmagic (this one reads "
                          f"version {version} and older): upgrade colabmagic here")
    return {k: v for k, v in values.items() if k not in (FORMAT, VERSION)}


def fields_of(cls, values: dict[str, Any]) -> dict[str, Any]:
    """The VALUES a dataclass CLS has fields for: keys a newer writer added are left out."""
    known = {field.name for field in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in known}


def _refuse(constant: str):
    raise ValueError(f"{constant} is not standard JSON")
