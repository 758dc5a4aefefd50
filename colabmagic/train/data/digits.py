"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images), the offline default.

The test split is the one published results use, `train_test_split(X, y, test_size=0.2,
stratify=y, random_state=0)`: 1,437 train and 360 test images. Pixels are 0..16 in the source;
here they are float32 pixel/16 in 0..1, shape (1, 8, 8).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arrays import image_dataset
from .dataset import Dataset
from .remote import Fetch


def load_digits(root: Path, fetch: Fetch) -> Dataset:  # root, fetch: unused, nothing is downloaded
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    x, y = sklearn_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)

    def images(a):
        return (a / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)

    return image_dataset("digits", images(x_train), y_train, images(x_test), y_test,
                         [str(d) for d in range(10)], source="sklearn")
