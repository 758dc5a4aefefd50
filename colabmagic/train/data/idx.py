"""`mnist` and `fashion_mnist`: the official idx files, 60,000 train and 10,000 test 28x28 images.

The idx format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08 uint8 ..
0x0E float64), the number of dimensions, each dimension as a big-endian uint32, then the values
big-endian. The four files are read gzipped as published, or uncompressed if that is what the
data folder holds.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...locale import tr
from .arrays import image_dataset
from .dataset import Dataset
from .remote import Fetch, RemoteFile, ensure_files

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

# Published md5 checksums (the same ones torchvision and the datasets' own pages list).
MNIST_FILES = [
    RemoteFile("train-images-idx3-ubyte.gz", md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    RemoteFile("train-labels-idx1-ubyte.gz", md5="d53e105ee54ea40749a09fcbcd1e9432"),
    RemoteFile("t10k-images-idx3-ubyte.gz", md5="9fb629c4189551a2d022fa330f9573f3"),
    RemoteFile("t10k-labels-idx1-ubyte.gz", md5="ec29112dd5afa0611ce80d1b7f02629c"),
]
# yann.lecun.com is the original home but often refuses robots; PyTorch's S3 copy holds the same bytes
MNIST_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]

FASHION_FILES = [
    RemoteFile("train-images-idx3-ubyte.gz", md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    RemoteFile("train-labels-idx1-ubyte.gz", md5="25c81989df183df01b3e8a0aad5dffbe"),
    RemoteFile("t10k-images-idx3-ubyte.gz", md5="bef4ecab320f06d8554ea6380940ec79"),
    RemoteFile("t10k-labels-idx1-ubyte.gz", md5="bb300cfdad3c16e7a12a480ee83cd310"),
]
FASHION_MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load_mnist(root: Path, fetch: Fetch) -> Dataset:
    return _load("mnist", root, fetch, MNIST_FILES, MNIST_MIRRORS, list(range(10)))


def load_fashion_mnist(root: Path, fetch: Fetch) -> Dataset:
    return _load("fashion_mnist", root, fetch, FASHION_FILES, FASHION_MIRRORS, FASHION_CLASSES)


def _load(name, root, fetch, files, mirrors, classes) -> Dataset:
    unpacked = [root / f.name.removesuffix(".gz") for f in files]
    if all(p.is_file() for p in unpacked):
        paths = unpacked
    else:
        paths = ensure_files(name, root, files, mirrors, fetch)
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    for x, y, path in ((x_train, y_train, paths[0]), (x_test, y_test, paths[2])):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(tr("{file} holds {images} images for {labels} labels: the files do not match").format(
                file=path.name, images=x.shape, labels=y.shape))
    return image_dataset(name, x_train[:, None], y_train.astype(np.int64), x_test[:, None],
                         y_test.astype(np.int64), classes, source=str(root))


def read_idx(path: Path) -> np.ndarray:
    """The array in an idx file (optionally gzipped), in native byte order."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(tr("Cannot read {path}: {error} (delete it to download it again)").format(
            path=path, error=err)) from err
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _TYPES or data[3] == 0:
        raise DataError(tr("{path} is not an idx file (bad magic number {magic}): delete it").format(
            path=path, magic=data[:4].hex()))
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(tr("{path} is truncated: delete it to download it again").format(path=path))
    shape = struct.unpack(f">{ndim}I", data[4:header])
    count = int(np.prod(shape))
    if len(data) != header + count * dtype.itemsize:
        raise DataError(tr("{path} should hold {count} values of shape {shape} but has {size} bytes of data: "
                           "delete it to download it again").format(path=path, count=count, shape=shape,
                                                                    size=len(data) - header))
    return np.frombuffer(data, dtype, count, header).reshape(shape).astype(dtype.newbyteorder("="))
