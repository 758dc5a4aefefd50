"""`imdb`: the Large Movie Review Dataset (aclImdb_v1.tar.gz), 25,000 train / 25,000 test reviews.

Labels: neg = 0, pos = 1 (train/unsup is not used). Tokens come from a small built-in tokenizer
(words-v1 in train/preprocess/text.py, which `predict` uses too): lower case, `<br />` removed, runs of
letters and digits, keeping an inner apostrophe ("don't").
The vocabulary is the `vocab_size - 2` most frequent training-split words (ties: alphabetical),
ids from 2 in that order; 0 = padding, 1 = a word not in the vocabulary. Each review keeps its
first `max_len` tokens and is padded with 0 at the end.

Reviews are read straight from the archive (or from an extracted aclImdb/ folder if that is
what the data folder holds). The token arrays are cached next to it, so the next load is quick.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np

from ...errors import ConfigError, DataError
from ...locale import tr
from ..preprocess import tokenize
from .arrays import text_dataset
from .dataset import Dataset
from .remote import Fetch, RemoteFile, ensure_files

MIRRORS = ["https://ai.stanford.edu/~amaas/data/sentiment/"]
# Published md5 of the archive (84,125,825 bytes), as listed by torchtext and PaddlePaddle.
ARCHIVE = RemoteFile("aclImdb_v1.tar.gz", md5="7c2ac02c03563afcf9b574c7e56c153a")
CLASSES = ["neg", "pos"]
TOKENIZER_VERSION = 1  # bump when tokenize() changes: it names the cache files

_REVIEW = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/([^/]+\.txt)$")


def load_imdb(root: Path, fetch: Fetch, *, vocab_size: int = 20000, max_len: int = 256) -> Dataset:
    if not (isinstance(vocab_size, int) and vocab_size >= 3):
        raise ConfigError(tr("vocab_size must be an integer >= 3 (it counts padding and unknown), "
                             "got {value!r}").format(value=vocab_size))
    if not (isinstance(max_len, int) and max_len >= 1):
        raise ConfigError(tr("max_len must be a positive integer, got {value!r}").format(value=max_len))
    cache = root / f"aclImdb-tokens-v{TOKENIZER_VERSION}-{vocab_size}-{max_len}.npz"
    cached = None
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as npz:
            if "words" in npz.files:  # caches from before the vocabulary was kept are rebuilt
                cached = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}, npz["words"].tolist()
    if cached is not None:
        arrays, words = cached
    else:
        folder = root / "aclImdb"
        if (folder / "train" / "pos").is_dir() and (folder / "test" / "pos").is_dir():
            reviews = _read_folder(folder)
        else:
            [archive] = ensure_files("imdb", root, [ARCHIVE], MIRRORS, fetch,
                                     hint=tr("{archive} (or its extracted {folder}/ folder)").format(
                                         archive=ARCHIVE.name, folder="aclImdb"))
            reviews = _read_archive(archive)
        arrays, words = _encode(reviews, vocab_size, max_len)
        _save(cache, vocab_size=np.int64(len(words) + 2), words=np.array(words, dtype=str), **arrays)
    return text_dataset("imdb", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                        CLASSES, source=str(root), vocab_size=len(words) + 2, vocab=words)


# (split, label, file name) -> text
Reviews = dict[tuple[str, int, str], str]


def _read_archive(path: Path) -> Reviews:
    reviews: Reviews = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:  # nothing is written, so member paths need no checking
                match = _REVIEW.search(member.name)
                if match and member.isfile():
                    split, label, name = match.groups()
                    reviews[split, CLASSES.index(label), name] = tar.extractfile(member).read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(tr("Cannot read {path}: {error} (delete it to download it again)").format(
            path=path, error=err)) from err
    return reviews


def _read_folder(folder: Path) -> Reviews:
    return {(split, label, path.name): path.read_text("utf-8", "replace")
            for split in ("train", "test") for label, label_name in enumerate(CLASSES)
            for path in (folder / split / label_name).glob("*.txt")}


def _encode(reviews: Reviews, vocab_size: int, max_len: int) -> tuple[dict[str, np.ndarray], list[str]]:
    splits = {split: sorted(k for k in reviews if k[0] == split) for split in ("train", "test")}
    if not splits["train"] or not splits["test"]:
        raise DataError(tr("The IMDB archive holds no aclImdb/train/ or aclImdb/test/ reviews: "
                           "delete it to download it again"))
    # Two tokenizing passes (count, then encode) instead of holding ~12 million token strings.
    counts = Counter(t for key in splits["train"] for t in tokenize(reviews[key]))
    words = sorted(counts, key=lambda w: (-counts[w], w))[:vocab_size - 2]
    index = {w: i for i, w in enumerate(words, start=2)}
    arrays = {}
    for split, keys in splits.items():
        x = np.zeros((len(keys), max_len), dtype=np.int64)
        for row, key in enumerate(keys):
            ids = [index.get(t, 1) for t in tokenize(reviews[key])[:max_len]]
            x[row, :len(ids)] = ids
        arrays[f"x_{split}"] = x
        arrays[f"y_{split}"] = np.array([key[1] for key in keys], dtype=np.int64)
    return arrays, words


def _save(path: Path, **arrays) -> None:
    """Write the token cache whole or not at all; a read-only data folder just means no cache."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)
