"""Raw inputs as the preprocessing reads them: arrays, and tables in every form a user passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...locale import tr
from ..data.reader import is_frame

TABLE_SUFFIXES = {".csv", ".tsv", ".txt"}


def as_numpy(a: Any) -> np.ndarray:
    """A tensor (on any device) or anything array-like, as a NumPy array."""
    import torch

    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def is_series(x: Any) -> bool:
    """A pandas Series, told without importing pandas."""
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "dtype") and not hasattr(x, "columns")


def table_columns(x: Any) -> tuple[list[str], list[np.ndarray]] | None:
    """(header, columns) for a CSV path, a DataFrame, a dict of columns, one row as a dict of scalars
    (`df.iloc[0].to_dict()`) or a list of row dicts."""
    from ..data.reader import frame_columns, read_table

    if isinstance(x, (str, Path)) and Path(x).suffix.lower() in TABLE_SUFFIXES:
        return read_table(Path(x).expanduser())
    if is_frame(x):
        return frame_columns(x)
    if isinstance(x, dict) and x and all(np.ndim(v) == 0 for v in x.values()):
        x = [x]  # one row: its values are scalars (a string is one too), not columns
    if isinstance(x, dict):
        return [str(k) for k in x], [np.asarray(v, dtype=object) if not numeric(v) else np.asarray(v)
                                     for v in x.values()]
    if isinstance(x, (list, tuple)) and x and all(isinstance(r, dict) for r in x):
        header = list(dict.fromkeys(k for row in x for k in row))
        return [str(h) for h in header], [np.array([row.get(h) for row in x], dtype=object) for h in header]
    return None


def numeric(v: Any) -> bool:
    return np.asarray(v).dtype.kind in "iufb"


def some(names: list[str], n: int = 8) -> str:
    """The first N names for a message, and how many there are in all when there are more."""
    return ", ".join(names[:n]) + (tr(", ... ({count} in all)").format(count=len(names)) if len(names) > n else "")
