"""Your own images in ImageFolder layout: one subfolder per class, named after the class.

    pets/cat/1.png  pets/dog/7.jpg ...               20 % held out as test (stratified, fixed seed)
    pets/train/cat/1.png  pets/test/cat/9.png ...    train/ and test/ used as the splits
                                                     (val/, valid/ or validation/ too, if present)

Classes are the train folder's subfolder names in sorted order. Images are decoded with Pillow:
one channel if every image is greyscale, else RGB (alpha dropped). All are resized (bilinear) to
one size: `image_size` ("N", "HxW", an int or (height, width)), else the most common size among the
training images, but at most the model's natural size (a folder of 4032x3024 camera photos becomes
32x32 for the cnn instead of a 300 M-parameter model; a note says so). Hidden files and folders
(.ipynb_checkpoints) are skipped. Stored as uint8 (N, C, H, W).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ...errors import DataError, require
from ...locale import tr
from .arrays import image_dataset, image_target_size, parse_image_size
from .images import decode_files
from .split import TEST_FRACTION, TEST_SEED, check_fraction, stratified_indices

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
VAL_NAMES = ("val", "valid", "validation")


def load_folder(path: Path, *, image_size: int | str | tuple[int, int] | None = None,
                test_split: float = TEST_FRACTION, natural_size: int | None = None):
    test_split = check_fraction("test_split", test_split)
    size = parse_image_size(image_size)
    subfolders = {d.name.lower(): d for d in _visible(path) if d.is_dir()}
    if "train" in subfolders:
        split_dirs = {"train": subfolders["train"], "test": subfolders.get("test"),
                      "val": next((subfolders[n] for n in VAL_NAMES if n in subfolders), None)}
    else:
        split_dirs = {"train": path, "test": None, "val": None}

    classes = sorted(d.name for d in _visible(split_dirs["train"]) if d.is_dir())
    files = {split: _scan(folder, classes) for split, folder in split_dirs.items() if folder is not None}
    files = {split: items for split, items in files.items() if items or split == "train"}  # empty test/: none
    if not files["train"]:
        raise DataError(tr("No images in {folder}: put one subfolder per class holding {suffixes} files").format(
            folder=split_dirs["train"], suffixes=", ".join(sorted(SUFFIXES))))
    used = sorted({label for _, label in files["train"]})
    if len(used) < 2:
        raise DataError(tr("{folder} has images of {count} class: a classifier needs at least two class "
                           "subfolders").format(folder=split_dirs["train"], count=len(used)))

    Image = require("PIL.Image", "train")  # Pillow decodes the files

    headers = {split: [_header(Image, f) for f, _ in items] for split, items in files.items()}
    notes: tuple[str, ...] = ()
    if size is None:  # (height, width) most common among the training images, at most the natural size
        (w, h), _ = Counter(s for s, _ in headers["train"]).most_common(1)[0]
        size, notes = image_target_size((h, w), None, natural_size)
        size = size or (h, w)
    mode = "L" if all(m in GREY_MODES for hs in headers.values() for _, m in hs) else "RGB"
    arrays = {split: (decode_files([f for f, _ in items], mode, size),
                      np.array([label for _, label in items], dtype=np.int64))
              for split, items in files.items()}

    x_train, y_train = arrays["train"]
    x_test, y_test = arrays.get("test", (None, None))
    if x_test is None and test_split:
        kept, held = stratified_indices(y_train, test_split, TEST_SEED, what="test_split")
        x_train, x_test, y_train, y_test = x_train[kept], x_train[held], y_train[kept], y_train[held]
    ds = image_dataset(path.resolve().name, x_train, y_train, x_test, y_test, classes, source=str(path),
                       mode=mode, notes=notes)
    if "val" in arrays:
        import torch

        ds = ds.replace(x_val=torch.from_numpy(arrays["val"][0]), y_val=torch.from_numpy(arrays["val"][1]))
    return ds


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith((".", "__")))


def _scan(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """(image file, class index) for every image in folder/<class>/ (nested folders included)."""
    found = sorted(d.name for d in _visible(folder) if d.is_dir())
    unknown = [name for name in found if name not in classes]
    if unknown:
        raise DataError(tr("{folder} has class folder {name!r} that the training folder lacks "
                           "(classes: {classes})").format(
            folder=folder, name=unknown[0], classes=", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")))
    return [(f, label) for label, name in enumerate(classes) if (folder / name).is_dir()
            for f in sorted((folder / name).rglob("*"))
            if f.suffix.lower() in SUFFIXES and f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(folder).parts)]


def _header(Image, path: Path) -> tuple[tuple[int, int], str]:
    try:
        with Image.open(path) as im:  # reads the header only
            return im.size, im.mode
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(tr("Cannot read image {path}: {error}").format(path=path, error=err)) from err
