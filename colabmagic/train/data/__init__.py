"""Datasets for `%train`: a name or a path in, one `Dataset` out (see dataset.py for its shape).

    load_dataset("digits")                      embedded, offline (scikit-learn's 8x8 digits)
    load_dataset("cifar10", val_split=0.1)      data folder, else downloaded and checksum-verified
    load_dataset("pets/")                       ImageFolder layout          (folder.py)
    load_dataset("train.csv", target="y")       CSV: tabular or pixel images (table.py)
    load_dataset("data.npz")                    x_train/y_train[/x_test/y_test] or x/y (arrays.py)
    from_arrays(X, y)                           arrays from the notebook     (arrays.py)

Named datasets live in `data_dir()/<name>/`; files you put there yourself are used as they are
(remote.py says where downloads come from: COLABMAGIC_DATA_MIRROR first, then the official
URLs). A registered name wins over a file or folder of the same name: write ./mnist to mean the folder.

Options for named downloads, through **options: `checksums={file name: md5 or sha256 hex}`
replaces the published checksum of those files (tests, private mirrors), `progress=False` hides
the download bar (or a callable(done_bytes, total_bytes) receives it). Other options belong to
one loader: imdb `vocab_size`, `max_len`; folders and .npz images `image_size`; CSV `drop`, `text`;
user data `test_split`. `natural_image_size` (the model template's) caps the size images are
resized to when `image_size` is not given.

Only the standard library is imported here, so `list_datasets()` stays cheap; numpy and torch load
with the first dataset, scikit-learn and Pillow only in the loaders that need them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
from pathlib import Path
from typing import Any

from ...errors import ConfigError, DataError, Message, Option, shown
from ...locale import mark, tr
from .dataset import KINDS, Dataset, DataSpec

__all__ = ["Dataset", "DataSpec", "KINDS", "data_dir", "from_arrays", "list_datasets", "load_dataset"]

# name -> (module, one-line summary); the module defines load_<name>(root, fetch, **options).
# The summaries are translated where they are listed (list_datasets).
REGISTRY: dict[str, tuple[str, str]] = {
    "digits": ("digits", mark("8x8 handwritten digits from scikit-learn, 1,437 train / 360 test, offline (default)")),
    "mnist": ("idx", mark("28x28 handwritten digits, 60,000 train / 10,000 test (11 MB download)")),
    "fashion_mnist": ("idx", mark("28x28 clothing photos, 10 classes, 60,000 train / 10,000 test (30 MB download)")),
    "cifar10": ("cifar", mark("32x32 colour photos, 10 classes, 50,000 train / 10,000 test (170 MB download)")),
    "cifar100": ("cifar", mark("32x32 colour photos, 100 classes, 50,000 train / 10,000 test (169 MB download)")),
    "imdb": ("imdb", mark("movie reviews, positive or negative, 25,000 train / 25,000 test (84 MB download)")),
}
# file suffix -> (module, loader) for your own data; a folder is read as ImageFolder
FILE_LOADERS = {".csv": ("table", "load_csv"), ".tsv": ("table", "load_csv"), ".npz": ("arrays", "load_npz")}


def data_dir() -> Path:
    """Where named datasets are kept: $COLABMAGIC_DATA, default ~/.cache/colabmagic/datasets."""
    return Path(os.environ.get("COLABMAGIC_DATA") or "~/.cache/colabmagic/datasets").expanduser()


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line description) of every named dataset, for `%train --list`."""
    return [(name, tr(summary)) for name, (_, summary) in REGISTRY.items()]


def load_dataset(name_or_path: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                 target: str | None = None, val_split: float = 0.0, seed: int = 0,
                 base_url: str | None = None, download: bool = True, natural_image_size: int | None = None,
                 **options: Any) -> Dataset:
    """Load a named dataset or your own folder/.csv/.npz as a Dataset (tensors on the CPU).

    `val_split` moves that fraction of the training split, stratified and fixed by `seed`, into
    x_val/y_val. The test split is the official one, or for your own data without one a fixed
    20 % stratified hold-out. Raises DataError (message says what to do) for anything missing
    or malformed, ConfigError for options that do not apply.
    """
    from .split import carve_validation, check_fraction

    check_fraction("val_split", val_split)
    progress = options.pop("progress", True)  # only downloads show progress; harmless elsewhere
    name = _registered(name_or_path)
    if name is not None:
        from .remote import Fetch

        if target is not None:
            raise ConfigError(Message.of(tr("{target} is for CSV files: {dataset} has its own labels"),
                                         target=Option("target"), dataset=name))
        natural_image_size = None  # the named image sets are small already
        fetch = Fetch(base_url=base_url, download=download, checksums=options.pop("checksums", None),
                      progress=progress)
        root = Path(data_dir).expanduser() if data_dir is not None else _default_data_dir()
        module, _ = REGISTRY[name]
        dataset = _call(module, f"load_{name}", name, options, root / name, fetch,
                        natural_size=natural_image_size)
        if fetch.notes:  # a mirror's file refused on the way: told with the loader's own notes
            dataset = dataset.replace(notes=(*dataset.notes, *fetch.notes))
    else:
        path = Path(name_or_path).expanduser()
        if not _exists(path):
            raise DataError(_unknown(str(name_or_path)))
        if base_url is not None:
            raise ConfigError(tr("base_url= is for named datasets, not for {file}").format(file=path.name),
                              option="base_url")
        if path.is_dir():
            module, function = "folder", "load_folder"
        elif path.suffix.lower() in FILE_LOADERS:
            module, function = FILE_LOADERS[path.suffix.lower()]
        else:
            raise DataError(tr("Cannot read {file}: use a folder of images (one subfolder per class), "
                               "a .csv or a .npz file").format(file=path.name))
        if target is not None:
            if module != "table":
                raise ConfigError(Message.of(tr("{target} is for CSV files, not for {file}"),
                                             target=Option("target"), file=path.name))
            options["target"] = target
        dataset = _call(module, function, path.name, options, path, natural_size=natural_image_size)
    return carve_validation(dataset, val_split, seed)


def from_arrays(x: Any, y: Any, *, name: str = "arrays", val_split: float = 0.0, seed: int = 0,
                kind: str | None = None, drop: Any = None, text: str | None = None, image_size: Any = None,
                natural_image_size: int | None = None) -> Dataset:
    """A Dataset from notebook data; 20 % stratified hold-out as test (see arrays.py).

    x: 2-D numbers are tabular, (N, H, W) or (N, C, H, W) images, a list of strings texts, a
    pandas DataFrame a table read like a CSV file (`drop`, `text`; y may name its label column);
    integer token ids need kind="text".
    """
    from .arrays import build
    from .reader import is_frame
    from .split import carve_validation, check_fraction

    check_fraction("val_split", val_split)
    if is_frame(x):  # a DataFrame is a table: read like a CSV file
        from .table import frame_dataset

        if image_size is not None:
            raise ConfigError(Message.of(tr("a DataFrame is split like a CSV file: give it whole, without "
                                            "{image_size}"), image_size=Option("image_size")))
        dataset = frame_dataset(x, y, drop=drop, text=text, name=name, source="arrays")
    else:
        dataset = build(x, y, name=name, source="arrays", kind=kind, drop=drop, text=text, image_size=image_size,
                        natural_size=natural_image_size)
    return carve_validation(dataset, val_split, seed)


def _default_data_dir() -> Path:  # load_dataset's data_dir parameter hides data_dir() inside it
    return data_dir()


def _registered(name_or_path) -> str | None:
    if not isinstance(name_or_path, str):
        return None
    key = name_or_path.strip().lower().replace("-", "").replace("_", "")
    return next((name for name in REGISTRY if name.replace("_", "") == key), None)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system, a symlink loop: nothing to read there
        return False


def _unknown(text: str) -> str:
    if any(sep in text for sep in "/\\") or Path(text).suffix:
        return tr("No such file or folder: {path}").format(path=shown(text))
    close = difflib.get_close_matches(text.lower(), list(REGISTRY), n=1, cutoff=0.6)
    if close:
        return tr("Unknown dataset {name!r} - did you mean {close!r}? (see %train --list)").format(
            name=shown(text), close=close[0])
    return tr("Unknown dataset {name!r} and no file or folder of that name (see %train --list)").format(
        name=shown(text))


def _call(module: str, function: str, label: str, options: dict[str, Any], *args,
          natural_size: int | None = None) -> Dataset:
    """Call a loader, turning options it does not take into one ConfigError that lists those it does."""
    loader = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    accepted = [p.name for p in inspect.signature(loader).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.name != "natural_size"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        if accepted:
            message = tr("{option}= does not apply to {dataset}: it takes {options}")
        else:
            message = tr("{option}= does not apply to {dataset}: it takes no options")
        options = ", ".join(f"{a}=" for a in accepted)
        raise ConfigError(message.format(option=unknown[0], dataset=label, options=options))
    if natural_size and "natural_size" in inspect.signature(loader).parameters:
        options = {**options, "natural_size": natural_size}
    return loader(*args, **options)
