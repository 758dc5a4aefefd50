"""Stratified, seeded splits: the test hold-out for user data and the validation carve-out.

Each class gives up the same fraction of its examples (largest-remainder rounding, so the total
is round(fraction * N)); a class keeps at least one example on the kept side. The result depends
only on the labels, the fraction and the seed.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import ConfigError, DataError
from ...locale import tr
from .dataset import Dataset

TEST_FRACTION = 0.2  # user data without its own test split: this much is held out as test
TEST_SEED = 0        # fixed, so a file's test set stays the same whatever --seed says


def check_fraction(name: str, fraction: float) -> float:
    if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise ConfigError(tr("{option}= must be a fraction in [0, 1), got {value!r}").format(
            option=name, value=fraction))
    return float(fraction)


def stratified_indices(y: np.ndarray, fraction: float, seed: int, *, what: str = "split"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Positions 0..N-1 divided into (kept, held_out), both sorted ascending."""
    y = np.asarray(y)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = fraction * counts
    room = counts - 1                                   # each class keeps one example
    held_per = np.minimum(np.floor(quota).astype(np.int64), room)
    wanted = max(1, round(fraction * len(y))) if fraction > 0 else 0
    by_remainder = np.argsort(-(quota - np.floor(quota)), kind="stable")
    while (missing := wanted - int(held_per.sum())) > 0:
        open_classes = [c for c in by_remainder if held_per[c] < room[c]]
        if not open_classes:
            break
        for c in open_classes[:missing]:
            held_per[c] += 1
    if wanted and not held_per.sum():
        raise DataError(tr("Too few examples for {option}={fraction:g}: {examples} examples in {classes} classes "
                           "leave nothing to hold out (each class keeps at least one)").format(
            option=what, fraction=fraction, examples=len(y), classes=len(classes)))
    rng = np.random.default_rng(seed)
    held = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(held_per)]
    held_mask = np.zeros(len(y), dtype=bool)
    held_mask[np.concatenate(held) if held else []] = True
    return np.flatnonzero(~held_mask), np.flatnonzero(held_mask)


def carve_validation(ds: Dataset, fraction: float, seed: int) -> Dataset:
    """Move a stratified `fraction` of the training split into x_val/y_val (same seed, same split)."""
    fraction = check_fraction("val_split", fraction)
    if not fraction:
        return ds
    if ds.x_val is not None:
        raise ConfigError(tr("{dataset} already has a validation split (a val/ folder): leave val_split at 0").format(
            dataset=ds.name))
    kept, held = (torch.from_numpy(i) for i in stratified_indices(ds.y_train.numpy(), fraction, seed,
                                                                  what="val_split"))
    return ds.replace(x_train=ds.x_train[kept], y_train=ds.y_train[kept],
                      x_val=ds.x_train[held], y_val=ds.y_train[held])
