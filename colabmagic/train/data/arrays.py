"""Arrays to Dataset: the builders every loader ends in, `from_arrays` and `.npz` files.

How arrays are read (`from_arrays`, `.npz`):
- x: numpy array, torch tensor or nested lists. 2-D (or 1-D) -> tabular (standardised with the
  training split's mean/std; integer matrices too, unless kind="text"); 3-D (N, H, W) -> one-channel
  images; 4-D (N, C, H, W) -> images, and (N, H, W, C) with C in 1/3/4 is transposed to that.
  Images must be uint8 / integers in 0..255 or floats in 0..1. Images larger than the model's natural
  size are resized to it (bilinear, antialiased) unless `image_size` says otherwise; a note says so.
  A list (or 1-D array) of strings -> text: words-v1 tokens, a vocabulary of the training split's
  20,000 most frequent words, at most 256 tokens per text.
  A pandas DataFrame -> a table, read column by column as a CSV file is (table.py): `drop`, `text`,
  and y may be the name of its label column.
- y: class labels of any type; they become 0..K-1 in sorted order of their values (labels that
  already are 0..K-1 keep their values), and `classes` holds the original values (str, int, ...).
- No test split given: 20 % of the examples, stratified, with a fixed seed, become the test split.
- `.npz`: keys x_train/y_train (+ optional x_test/y_test) or x/y, plus an optional `classes` array
  of class names; it is read with allow_pickle=False.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ...errors import ConfigError, DataError, Message, Option
from ...locale import tr
from .. import preprocess
from ..preprocess import image_info, table_info, text_info
from .dataset import KINDS, Dataset
from .images import image_stats
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices


# --- builders every loader uses ---------------------------------------------------------------

def image_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                  y_test: np.ndarray | None, classes: Sequence[Any], source: str, *, pixel_max: float = 255.0,
                  mode: str | None = None, pixel_columns: Sequence[str] | None = None,
                  notes: Sequence[str] = ()) -> Dataset:
    """x arrays are (N, C, H, W), uint8 0..255 or float32 0..1; mean/std come from x_train.

    `pixel_max`: the raw pixel range of the source when it is not 0..255 (digits: 16), so that
    `predict` can take the raw pixels; `mode`: how image files are decoded ("L", "RGB").
    """
    mean, std = image_stats(x_train)
    info = image_info(x_train.shape[1:], mean, std, pixel_max=pixel_max, mode=mode, pixel_columns=pixel_columns)
    return _dataset(name, "image", x_train, y_train, x_test, y_test, classes, source, mean=mean, std=std,
                    preprocessing=info, notes=tuple(notes))


def tabular_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                    y_test: np.ndarray | None, classes: Sequence[Any], source: str, *,
                    columns: list[dict[str, Any]] | None = None, target: str | None = None,
                    notes: Sequence[str] = (), standardised: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> Dataset:
    """x arrays are (N, F) numbers; every feature is standardised with x_train's mean and std.

    `columns`: the table's column specs (preprocess/tables.py) when the features were encoded from one.
    `standardised`: (mean, std) when the x arrays already are float32, standardised with them.
    """
    if standardised is not None:
        mean, std = standardised
        return _dataset(name, "tabular", x_train, y_train, x_test, y_test, classes, source,
                        preprocessing=table_info(mean, std, columns, target), notes=tuple(notes))
    x_train = np.asarray(x_train, dtype=np.float64)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # a constant feature stays 0 instead of becoming NaN

    def scale(x):
        return None if x is None else ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)

    return _dataset(name, "tabular", scale(x_train), y_train, scale(x_test), y_test, classes, source,
                    preprocessing=table_info(mean, std, columns, target), notes=tuple(notes))


def text_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                 y_test: np.ndarray | None, classes: Sequence[Any], source: str, vocab_size: int, *,
                 vocab: Sequence[str] | None = None, column: str | None = None,
                 notes: Sequence[str] = ()) -> Dataset:
    """x arrays are (N, L) token ids, 0 = padding, 1 = unknown; vocab_size counts both.

    `vocab`: the words of ids 2, 3, ... when the ids came from texts (so `predict` takes texts).
    """
    cast = (lambda x: None if x is None else np.asarray(x, dtype=np.int64))
    info = text_info(np.shape(x_train)[1], vocab_size, vocab, column)
    return _dataset(name, "text", cast(x_train), y_train, cast(x_test), y_test, classes, source,
                    vocab_size=vocab_size, preprocessing=info, notes=tuple(notes))


def _dataset(name, kind, x_train, y_train, x_test, y_test, classes, source, **extra) -> Dataset:
    def tensor(a, dtype=None):
        if a is None:
            return None
        a = np.ascontiguousarray(a if dtype is None else np.asarray(a, dtype=dtype))
        return torch.from_numpy(a)

    classes = [native(c) for c in classes]
    return Dataset(name=name, kind=kind, x_train=tensor(x_train), y_train=tensor(y_train, np.int64),
                   x_test=tensor(x_test), y_test=tensor(y_test, np.int64), num_classes=len(classes),
                   classes=classes, source=source, **extra)


def native(value: Any) -> Any:
    """A label value as a plain Python str/int/float/bool (what a saved model file may hold)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def warn_sparse_classes(y: np.ndarray, num_classes: int, what: str) -> None:
    """Warn when there are so many classes that most have a single example (an id or name column).
    WHAT is "y" (labels given) or the label column as the caller words it."""
    n = len(y)
    if num_classes > 2 and n < 2 * num_classes:
        if what == "y":
            message = tr("{what} has {classes} classes for {n} examples ({per_class:.1f} per class): too few per "
                         "class to learn from, so expect low accuracy. Is it an id or a name? check that y holds "
                         "class labels")
        else:
            message = tr("{what} has {classes} classes for {n} examples ({per_class:.1f} per class): too few per "
                         "class to learn from, so expect low accuracy. Is it an id or a name? choose the column "
                         "to predict with {target}")
        warnings.warn(Message.of(message, what=what, classes=num_classes, n=n, per_class=n / num_classes,
                                 target=Option("target", "COLUMN", literal=True)),
                      UserWarning, stacklevel=3)


def encode_labels(y_train, y_test=None, names: Sequence[str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Labels of any type -> int64 0..K-1 (sorted by value) and the class names.

    With `names` (one per class index), integer labels 0..len(names)-1 keep their values.
    """
    parts = [_label_array(y, what) for y, what in ((y_train, "y_train"), (y_test, "y_test")) if y is not None]
    joined = np.concatenate(parts)
    if names is not None and joined.dtype.kind in "iu" and len(joined) and \
            joined.min() >= 0 and joined.max() < len(names):
        codes, classes = joined, [native(n) for n in names]
    else:
        values, codes = _sorted_codes(joined)
        classes = [native(v) for v in values.tolist()]
    codes = codes.astype(np.int64).reshape(-1)
    n_train = len(parts[0])
    return codes[:n_train], (codes[n_train:] if y_test is not None else None), classes


def _sorted_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(labels, return_inverse=True), sorting the distinct labels rather than every row
    (a million text labels of three classes: three strings to sort)."""
    if labels.dtype.kind != "U" or len(labels) < 2:
        return np.unique(labels, return_inverse=True)
    from .distinct import distinct

    codes, texts = distinct(labels)
    values, order = np.unique(np.array(texts, dtype=labels.dtype), return_inverse=True)
    return values, order[codes]


def _label_array(y, what: str) -> np.ndarray:
    y = as_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(tr("{what} must be one class label per example (1-D), got shape {shape}").format(
            what=what, shape=tuple(y.shape)))
    if y.dtype.kind == "b":
        return y
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.round(y), y).all():
            example = next((v for v in y.tolist() if not (math.isfinite(v) and v == round(v))), None)
            raise DataError(tr("{what} holds non-integer values (e.g. {example}): %train does classification, "
                               "so labels must be classes (integers or names)").format(what=what, example=example))
        return y.astype(np.int64)
    if y.dtype.kind == "O":
        return y.astype(str)
    return y


def as_numpy(a: Any) -> np.ndarray:
    """numpy array from a numpy array, torch tensor or (nested) list, without copying when possible."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


# --- from_arrays and .npz ---------------------------------------------------------------------

def build(x_train, y_train, x_test=None, y_test=None, *, name: str, source: str, kind: str | None = None,
          classes: Sequence[str] | None = None, test_split: float = TEST_FRACTION,
          image_size: Any = None, natural_size: int | None = None, drop: Any = None,
          text: str | None = None) -> Dataset:
    """A Dataset from in-memory arrays (see the module docstring for how they are read)."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(tr("kind must be one of {kinds}, got {kind!r}").format(kinds=", ".join(KINDS), kind=kind))
    test_split = check_fraction("test_split", test_split)
    for option, value in (("drop", drop), ("text", text)):
        if value is not None:
            raise ConfigError(tr("{option}= names columns of a table (a CSV file or a DataFrame); "
                                 "these arrays have none").format(option=option))
    if preprocess.is_texts(x_train) and kind in (None, "text"):
        return _texts(x_train, y_train, x_test, y_test, name=name, source=source, classes=classes,
                      test_split=test_split)
    x_train = as_numpy(x_train)
    x_test = None if x_test is None else as_numpy(x_test)
    if (x_test is None) != (y_test is None):
        raise DataError(tr("Give both x_test and y_test, or neither"))
    y_train, y_test, classes = encode_labels(y_train, y_test, classes)
    for x, y, what in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x is not None and len(x) != len(y):
            raise DataError(tr("x_{split} has {examples} examples but y_{split} has {labels} labels").format(
                split=what, examples=len(x), labels=len(y)))
    if len(x_train) == 0:
        raise DataError(tr("{name} has no examples").format(name=name))
    warn_sparse_classes(y_train, len(classes), "y")
    if x_test is None and test_split:
        kept, held = stratified_indices(y_train, test_split, TEST_SEED, what="test_split")
        x_train, x_test, y_train, y_test = x_train[kept], x_train[held], y_train[kept], y_train[held]

    kind = kind or _infer_kind(x_train)
    if image_size is not None and kind != "image":
        raise ConfigError(Message.of(tr("{image_size} resizes images; these arrays are {kind}"),
                                     image_size=Option("image_size"), kind=kind))
    if kind == "image":
        x_train, x_test = _images(x_train), (None if x_test is None else _images(x_test))
        size, notes = image_target_size(tuple(x_train.shape[2:]), image_size, natural_size)
        if size is not None:
            x_train = preprocess.resize_images(x_train, size)
            x_test = None if x_test is None else preprocess.resize_images(x_test, size)
        return image_dataset(name, x_train, y_train, x_test, y_test, classes, source, notes=notes)
    if kind == "text":
        for x in (x_train, x_test):
            if x is not None and (x.ndim != 2 or x.dtype.kind not in "iu" or (x.size and x.min() < 0)):
                raise DataError(tr("Text arrays must be (N, L) non-negative integer token ids (0 = padding), "
                                   "or a list of strings"))
        vocab = max(int(x.max()) for x in (x_train, x_test) if x is not None and x.size) + 1
        return text_dataset(name, x_train, y_train, x_test, y_test, classes, source, vocab_size=max(vocab, 2))
    x_train, x_test = _table(x_train), (None if x_test is None else _table(x_test))
    if x_test is not None and x_test.shape[1] != x_train.shape[1]:
        raise DataError(tr("x_test has {test} features but x_train has {train}").format(
            test=x_test.shape[1], train=x_train.shape[1]))
    return tabular_dataset(name, x_train, y_train, x_test, y_test, classes, source)


VOCAB_SIZE = 20000  # texts from the notebook or a CSV column: most frequent words kept
MAX_LEN = 256       # tokens kept per text (fewer when every training text is shorter)


def text_arrays(texts_train: Sequence[str], texts_test: Sequence[str] | None, *, vocab_size: int = VOCAB_SIZE,
                max_len: int | None = None) -> tuple[np.ndarray, np.ndarray | None, list[str], int]:
    """Token ids (words-v1) with a vocabulary from the training texts: (x_train, x_test, vocab, max_len)."""
    tokens = [preprocess.tokenize(t) for t in texts_train]
    vocab = preprocess.build_vocab(tokens, vocab_size)
    if max_len is None:
        max_len = max(1, min(MAX_LEN, max((len(t) for t in tokens), default=1)))
    encode = (lambda texts: None if texts is None else preprocess.encode_texts(texts, vocab, max_len))
    return encode(texts_train), encode(texts_test), vocab, max_len


def _texts(x_train, y_train, x_test, y_test, *, name, source, classes, test_split) -> Dataset:
    def strings(x):
        return None if x is None else [str(v) for v in (x.tolist() if hasattr(x, "tolist") else x)]

    x_train, x_test = strings(x_train), strings(x_test)
    if (x_test is None) != (y_test is None):
        raise DataError(tr("Give both x_test and y_test, or neither"))
    y_train, y_test, classes = encode_labels(y_train, y_test, classes)
    if len(x_train) != len(y_train):
        raise DataError(tr("x has {texts} texts but y has {labels} labels").format(
            texts=len(x_train), labels=len(y_train)))
    warn_sparse_classes(y_train, len(classes), "y")
    if x_test is None and test_split:
        kept, held = stratified_indices(y_train, test_split, TEST_SEED, what="test_split")
        x_test, y_test = [x_train[i] for i in held], y_train[held]
        x_train, y_train = [x_train[i] for i in kept], y_train[kept]
    ids_train, ids_test, vocab, _ = text_arrays(x_train, x_test)
    return text_dataset(name, ids_train, y_train, ids_test, y_test, classes, source,
                        vocab_size=len(vocab) + 2, vocab=vocab)


def parse_image_size(image_size: Any) -> tuple[int, int] | None:
    """image_size as given ("64", "64x48", 64, (64, 48)) -> (height, width)."""
    if image_size is None:
        return None
    value = image_size
    if isinstance(value, str):
        parts = value.lower().replace("x", ",").replace("*", ",").split(",")
        value = [int(p) if p.strip().isdigit() else p for p in parts]
        if len(value) == 1:
            value = value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    size = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ConfigError(Message.of(tr("{image_size} must be N or HxW (positive whole numbers, e.g. 64 or 64x48), "
                                        "got {value!r}"), image_size=Option("image_size"), value=image_size))
    return size


def image_target_size(found: tuple[int, int], image_size: Any, natural_size: int | None
                      ) -> tuple[tuple[int, int] | None, tuple[str, ...]]:
    """(size to resize to or None, notes): image_size when given, else the model's natural size when the
    images are larger than it (a photo at full size would make a huge model and run out of memory)."""
    size = parse_image_size(image_size)
    if size is not None:
        return (size if size != tuple(found) else None), ()
    if natural_size and max(found) > natural_size:
        size = (natural_size, natural_size)
        note = Message.of(tr("images resized from {height}x{width} to {size}x{size}, the model's natural size: "
                             "{image_size} chooses another"), height=found[0], width=found[1], size=natural_size,
                          image_size=Option("image_size", "HxW", literal=True))
        return size, (note,)  # a note, told once by the run (notes.py), not a warning here too
    return None, ()


def load_npz(path: Path, *, kind: str | None = None, image_size: Any = None, test_split: float = TEST_FRACTION,
             natural_size: int | None = None) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as err:  # object arrays need pickle, which could run code: refuse
        raise DataError(tr("Cannot read {file}: {error} (save plain numeric or string arrays)").format(
            file=path.name, error=err)) from err
    except (OSError, EOFError) as err:
        raise DataError(tr("Cannot read {file}: not a valid .npz file ({error})").format(
            file=path.name, error=err)) from err
    if {"x_train", "y_train"} <= arrays.keys():
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    elif {"x", "y"} <= arrays.keys():
        x_train, y_train, x_test, y_test = arrays["x"], arrays["y"], None, None
    else:
        if arrays:
            message = tr("{file} needs arrays x_train and y_train (optionally x_test, y_test) or x and y; "
                         "it has {keys}")
        else:
            message = tr("{file} needs arrays x_train and y_train (optionally x_test, y_test) or x and y; "
                         "it has none")
        raise DataError(message.format(file=path.name, keys=", ".join(sorted(arrays))))
    classes = arrays["classes"].tolist() if "classes" in arrays else None
    return build(x_train, y_train, x_test, y_test, name=path.stem, source=str(path), kind=kind,
                 classes=classes, test_split=test_split, image_size=image_size, natural_size=natural_size)


def _infer_kind(x: np.ndarray) -> str:
    if x.ndim in (3, 4):
        return "image"
    if x.ndim in (1, 2):
        return "tabular"
    raise DataError(tr("Cannot tell what x of shape {shape} holds: use (N, F) features, "
                       "(N, H, W) or (N, C, H, W) images, or (N, L) token ids with kind='text'").format(
        shape=tuple(x.shape)))


def _images(x: np.ndarray) -> np.ndarray:
    return preprocess.image_array(x)


def _table(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if x.dtype.kind not in "iufb":
        raise DataError(tr("Tabular arrays must hold numbers, got dtype {dtype}").format(dtype=x.dtype))
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise DataError(tr("x holds NaN or infinite values: fill or drop them first"))
    return x
