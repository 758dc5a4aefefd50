"""`cifar10` and `cifar100`: the official "python version" archives, 50,000 train / 10,000 test 32x32.

cifar-10-python.tar.gz unpacks to cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta);
cifar-100-python.tar.gz to cifar-100-python/ (train, test, meta; we use the 100 fine labels). Each
batch is a pickled dict whose "data" is uint8 (N, 3072), 1024 red then green then blue values per
image, row-major, i.e. (N, 3, 32, 32) after a reshape.

The batches are pickles, and a pickle can run code: they are read with an unpickler that can
build nothing but numpy arrays, so a tampered file fails instead of running.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...fetch import extract
from ...locale import tr
from .arrays import image_dataset
from .dataset import Dataset
from .remote import Fetch, RemoteFile, ensure_files

MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
# Published md5 checksums of the archives (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR10 = RemoteFile("cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a")
CIFAR100 = RemoteFile("cifar-100-python.tar.gz", md5="eb9058c3a382ffc7106e4002c42a8d85")


def load_cifar10(root: Path, fetch: Fetch) -> Dataset:
    folder = _unpacked("cifar10", root, fetch, CIFAR10, "cifar-10-batches-py",
                       [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"])
    train = [_read(folder / f"data_batch_{i}") for i in range(1, 6)]
    test = _read(folder / "test_batch")
    classes = _read(folder / "batches.meta")["label_names"]
    return _dataset("cifar10", folder, train, [test], "labels", classes)


def load_cifar100(root: Path, fetch: Fetch) -> Dataset:
    folder = _unpacked("cifar100", root, fetch, CIFAR100, "cifar-100-python", ["train", "test", "meta"])
    classes = _read(folder / "meta")["fine_label_names"]
    return _dataset("cifar100", folder, [_read(folder / "train")], [_read(folder / "test")], "fine_labels", classes)


def _unpacked(name: str, root: Path, fetch: Fetch, archive: RemoteFile, folder_name: str,
              members: list[str]) -> Path:
    """The extracted batch folder, extracting (and first downloading) the archive if needed."""
    folder = root / folder_name
    if not all((folder / m).is_file() for m in members):
        [path] = ensure_files(name, root, [archive], MIRRORS, fetch,
                              hint=tr("{archive} (or its extracted {folder}/ folder)").format(
                                  archive=archive.name, folder=folder_name))
        extract(path, root)
        missing = [m for m in members if not (folder / m).is_file()]
        if missing:
            raise DataError(tr("{archive} did not contain {member}: it is not the official archive; "
                               "delete it to download it again").format(
                archive=path, member=f"{folder_name}/{missing[0]}"))
    return folder


def _dataset(name, folder, train, test, label_key, classes) -> Dataset:
    def join(batches, key):
        return np.concatenate([np.asarray(b[key]) for b in batches])

    x_train, x_test = (join(b, "data").astype(np.uint8).reshape(-1, 3, 32, 32) for b in (train, test))
    y_train, y_test = (join(b, label_key).astype(np.int64) for b in (train, test))
    return image_dataset(name, x_train, y_train, x_test, y_test, [_text(c) for c in classes], source=str(folder))


def _read(path: Path) -> dict:
    """One batch as a dict with str keys (the files were pickled by Python 2: byte strings)."""
    try:
        with open(path, "rb") as f:
            batch = _ArraysOnly(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(tr("Cannot read {path}: {error} (delete the folder to extract it again)").format(
            path=path, error=err)) from err
    if not isinstance(batch, dict):
        raise DataError(tr("{path} is not a CIFAR batch (a dict), it holds a {type}").format(
            path=path, type=type(batch).__name__))
    return {_text(k): v for k, v in batch.items()}


def _text(value) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, and refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into protocol-2 pickles
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(tr("refusing to load {name} (only numpy arrays are allowed)").format(
                name=f"{module}.{name}"))
        if module.startswith("numpy.core.") and hasattr(np, "_core"):  # numpy 2 moved numpy.core
            module = module.replace("numpy.core.", "numpy._core.", 1)
        return super().find_class(module, name)
