"""Texts: the words-v1 tokenizer, the vocabulary, and texts as the ids a text model takes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ...errors import DataError
from ...locale import tr
from ..data.distinct import MISSING
from .inputs import TABLE_SUFFIXES, as_numpy, is_series, some, table_columns

TOKENIZER = "words-v1"

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """words-v1: lower case, `<br />` removed, runs of letters and digits keeping an inner apostrophe."""
    return _WORD.findall(str(text).replace("<br />", " ").lower())


def build_vocab(token_lists: Iterable[list[str]], vocab_size: int) -> list[str]:
    """The `vocab_size - 2` most frequent words (ties alphabetical): ids 2, 3, ... in that order."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    return sorted(counts, key=lambda w: (-counts[w], w))[:max(vocab_size - 2, 0)]


def encode_texts(texts: Sequence[str], vocab: Sequence[str], max_len: int) -> np.ndarray:
    """(N, max_len) int64 ids: 0 pads the end, 1 is a word outside the vocabulary."""
    index = {w: i for i, w in enumerate(vocab, start=2)}
    x = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [index.get(t, 1) for t in tokenize(text)[:max_len]]
        x[row, :len(ids)] = ids
    return x


def is_texts(x: Any) -> bool:
    """A list/array of strings (one text per example)."""
    if isinstance(x, (str, bytes)):
        return False
    if isinstance(x, np.ndarray):
        return x.ndim == 1 and (x.dtype.kind in "US" or (x.dtype.kind == "O" and len(x) > 0
                                                         and all(isinstance(v, str) for v in x[:100])))
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(isinstance(v, str) for v in x)
    return is_series(x) and x.dtype.kind == "O"


def texts_from(info: dict[str, Any], x: Any) -> np.ndarray:
    """Raw texts (strings, or a table's text column) -> (N, max_len) ids, as training encoded them."""
    max_len, vocab = info["max_len"], info.get("vocab")
    if vocab is None:  # trained on token ids
        ids = as_numpy(x)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise DataError(tr("this model was trained on token ids: pass an (N, L) integer array"))
        out = np.zeros((len(ids), max_len), dtype=np.int64)
        out[:, :min(max_len, ids.shape[1])] = ids[:, :max_len]
        out[out >= info["vocab_size"]] = 1
        out[out < 0] = 1
        return out
    if isinstance(x, str) and not (Path(x).suffix.lower() in TABLE_SUFFIXES and Path(x).expanduser().is_file()):
        texts: Sequence[str] = [x]
    elif is_texts(x):
        texts = [str(v) for v in (x.tolist() if hasattr(x, "tolist") else x)]
    else:
        table = table_columns(x)
        column = info.get("column")
        if table is None or column is None:
            if column:
                raise DataError(tr("this model reads texts: pass a list of strings, or a table with a {column!r} "
                                   "column").format(column=column))
            raise DataError(tr("this model reads texts: pass a list of strings"))
        header, columns = table
        if column not in header:
            raise DataError(tr("the table has no column {column!r}, the text the model was trained on "
                               "(columns: {columns})").format(column=column, columns=some(header)))
        texts = ["" if str(v).strip().lower() in MISSING else str(v) for v in columns[header.index(column)].tolist()]
    return encode_texts(texts, vocab, max_len)
