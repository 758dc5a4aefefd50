"""Small, learnable stand-ins for the tutorials' datasets, in the files' real formats.

The examples train for real, so their data must hold something to learn: the images are
scikit-learn's embedded 8x8 digits scaled up (MNIST's 28x28 grey idx files, CIFAR-10's 32x32
colour python batches on random colours, Kaggle's digit-recognizer CSVs), and the IMDB reviews are
sentences whose sentiment words carry the label, in the aclImdb_v1.tar.gz layout. Everything is
made from fixed seeds: the same bytes every run.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from test_train_data import idx_bytes, tar_gz

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def digits(n_train: int, n_test: int, scale: int, size: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): the embedded digits as uint8 size x size images (0..255),
    each pixel repeated scale x scale times and the picture centred."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.kron(data.images, np.ones((scale, scale))) * (255 / 16)
    pad = (size - images.shape[1]) // 2
    images = np.pad(images, ((0, 0), (pad, size - images.shape[1] - pad), (pad, size - images.shape[2] - pad)))
    images, labels = images.round().astype(np.uint8), data.target.astype(np.uint8)
    return images[:n_train], labels[:n_train], images[n_train:n_train + n_test], labels[n_train:n_train + n_test]


def write_mnist(folder: Path, n_train: int = 1000, n_test: int = 300) -> np.ndarray:
    """MNIST's four gzipped idx files in FOLDER; returns the test labels."""
    arrays = digits(n_train, n_test, scale=3, size=28)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(MNIST_FILES, arrays):
        (folder / name).write_bytes(idx_bytes(array))
    return arrays[3]


def write_cifar10(folder: Path, n_train: int = 1000, n_test: int = 300) -> np.ndarray:
    """cifar-10-python.tar.gz in FOLDER: five data batches, test_batch and batches.meta, as the
    official archive holds them; each digit drawn in a random colour on a random background."""
    rng = np.random.default_rng(10)
    x_train, y_train, x_test, y_test = digits(n_train, n_test, scale=4, size=32)

    def colour(images: np.ndarray) -> np.ndarray:
        ink = rng.integers(0, 256, (len(images), 3, 1, 1))
        paper = rng.integers(0, 256, (len(images), 3, 1, 1))
        alpha = images[:, None].astype(np.float64) / 255
        return (alpha * ink + (1 - alpha) * paper).round().astype(np.uint8).reshape(len(images), 3072)

    def batch(x, y, label: str) -> bytes:
        return pickle.dumps({"batch_label": label, "labels": [int(v) for v in y], "data": colour(x),
                             "filenames": [f"{label}_{i}.png" for i in range(len(y))]}, protocol=2)

    members = {f"cifar-10-batches-py/data_batch_{i + 1}": batch(x, y, f"training batch {i + 1} of 5")
               for i, (x, y) in enumerate(zip(np.array_split(x_train, 5), np.array_split(y_train, 5)))}
    members["cifar-10-batches-py/test_batch"] = batch(x_test, y_test, "testing batch 1 of 1")
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {"label_names": CIFAR10_CLASSES, "num_cases_per_batch": n_train // 5, "num_vis": 3072}, protocol=2)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(tar_gz(members))
    return y_test


POSITIVE = ["great", "wonderful", "loved", "brilliant", "moving", "superb", "enjoyable", "beautiful"]
NEGATIVE = ["awful", "boring", "terrible", "waste", "dull", "worst", "bad", "poor"]
NEUTRAL = ["the", "film", "movie", "plot", "actors", "story", "it", "was", "and", "a", "this", "director",
           "scenes", "music", "ending", "cast", "of", "with", "i", "watched", "script", "camera"]


def reviews(n: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """N (text, label) pairs, half of each label: neutral words with a few of the label's own."""
    out = []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(NEUTRAL, rng.integers(8, 20)))
        for _ in range(rng.integers(2, 4)):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POSITIVE if label else NEGATIVE)))
        text = " ".join(words).capitalize() + "."
        out.append((text.replace(" and ", ". <br /><br />And ", 1), label))
    return out


def write_imdb(folder: Path, n_train: int = 400, n_test: int = 200) -> list[tuple[str, int]]:
    """aclImdb_v1.tar.gz in FOLDER (train/ and test/ pos and neg reviews, NNN_RATING.txt); returns
    the test reviews with their labels (1 = pos)."""
    rng = np.random.default_rng(25)
    train, test = reviews(n_train, rng), reviews(n_test, rng)
    members = {"aclImdb/README": b"Large Movie Review Dataset v1.0 (a small stand-in)\n",
               "aclImdb/imdb.vocab": "\n".join(NEUTRAL + POSITIVE + NEGATIVE).encode()}
    for split, items in (("train", train), ("test", test)):
        for i, (text, label) in enumerate(items):
            rating = 7 + i % 4 if label else 1 + i % 4
            members[f"aclImdb/{split}/{'pos' if label else 'neg'}/{i}_{rating}.txt"] = text.encode()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "aclImdb_v1.tar.gz").write_bytes(tar_gz(members))
    return test


def digit_recognizer(n_train: int = 1000, n_test: int = 300) -> tuple[bytes, bytes, np.ndarray]:
    """Kaggle's digit-recognizer train.csv (label, pixel0..pixel783) and test.csv (pixels only),
    and the test set's true labels, which Kaggle keeps to itself."""
    x_train, y_train, x_test, y_test = digits(n_train, n_test, scale=3, size=28)
    header = ",".join(f"pixel{i}" for i in range(784))

    def rows(x: np.ndarray, labels: np.ndarray | None) -> str:
        flat = x.reshape(len(x), -1)
        return "\n".join((f"{labels[i]}," if labels is not None else "") + ",".join(map(str, flat[i]))
                         for i in range(len(flat)))

    train = f"label,{header}\n{rows(x_train, y_train)}\n".encode()
    test = f"{header}\n{rows(x_test, None)}\n".encode()
    return train, test, y_test

