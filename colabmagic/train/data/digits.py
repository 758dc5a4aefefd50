"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images), the offline default.

The test split is the one published results use, `train_test_split(X, y, test_size=0.2,
stratify=y, random_state=0)`: 1,437 train and 360 test images. Pixels are 0..16 in the source;
here they are float32 pixel/16 in 0..1, shape (1, 8, 8).

scikit-learn is not imported: importing it costs ~1.7 s in a fresh kernel, only to read one file it
ships. The file is read from the installed package's folder (found without importing it) and the
split is computed by `published_split`, scikit-learn's stratified shuffle split written out; a test
checks both against `load_digits` and `train_test_split`, bit for bit.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from pathlib import Path

import numpy as np

from ...errors import MissingExtraError
from ...locale import tr
from .arrays import image_dataset
from .dataset import Dataset
from .remote import Fetch

TEST_SIZE = 0.2
RANDOM_STATE = 0


def load_digits(root: Path, fetch: Fetch) -> Dataset:  # root, fetch: unused, nothing is downloaded
    x, y = read_digits()
    train, test = published_split(y, TEST_SIZE, RANDOM_STATE)

    def images(a):
        return (a / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)

    # pixel_max: predict() takes scikit-learn's raw 0..16 pixels; classes are the labels as the data has them
    return image_dataset("digits", images(x[train]), y[train], images(x[test]), y[test],
                         list(range(10)), source="sklearn", pixel_max=16.0)


def bundled_file() -> Path:
    """scikit-learn's datasets/data/digits.csv.gz, located without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")  # a top-level name: finds the folder, runs nothing
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise MissingExtraError(tr("the digits dataset is the one scikit-learn ships, and scikit-learn is not "
                               "installed: {install}").format(install="pip install 'colabmagic[train]'"))


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """(x float64 (1797, 64) in 0..16, y int64 (1797,)): what sklearn's load_digits(return_X_y=True) gives."""
    with gzip.open(bundled_file(), "rt", encoding="utf-8") as file:
        data = np.loadtxt(file, delimiter=",")  # how scikit-learn reads it: same parser, same floats
    return data[:, :-1], data[:, -1].astype(int)


def published_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions, in the order `train_test_split(..., stratify=y, random_state=seed)` gives.

    scikit-learn's StratifiedShuffleSplit (one split), step for step: the same legacy RandomState
    draws in the same order, so the indices (and their order) are identical.
    """
    n = len(y)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    _, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, count in enumerate(class_counts):
        shuffled = class_indices[i].take(rng.permutation(count), mode="clip")
        train.extend(shuffled[:n_i[i]])
        test.extend(shuffled[n_i[i]:n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class draws summing to n_draws: floors, then the largest remainders, ties broken by rng."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
