"""colabmagic.train.data: every dataset family read from small files in the real formats.

The files are made here: idx (magic numbers, gzip), CIFAR python pickle batches in the official
tar.gz layouts, an aclImdb tree tarball, an ImageFolder of PNGs, CSVs and .npz. Downloads go to
a real http.server on 127.0.0.1 (tests/test_fetch.py's LocalServer); the published checksums are
replaced through load_dataset's documented `checksums=` option.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import pickle
import struct
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from colabmagic.errors import ConfigError, DataError, DownloadError
from colabmagic.train.data import data_dir, from_arrays, list_datasets, load_dataset
from colabmagic.train.data.imdb import tokenize
from colabmagic.train.data.split import stratified_indices
from test_fetch import LocalServer, closed_port_url, no_proxy  # noqa: F401  (no_proxy: autouse fixture)

RNG = np.random.default_rng(1)


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch):
    """Every test gets its own empty data folder (COLABMAGIC_DATA), no mirror and no base-URL overrides."""
    folder = tmp_path / "data"
    monkeypatch.setenv("COLABMAGIC_DATA", str(folder))
    monkeypatch.delenv("COLABMAGIC_DATA_MIRROR", raising=False)
    for name in ("MNIST", "FASHION_MNIST", "CIFAR10", "CIFAR100", "IMDB"):
        monkeypatch.delenv(f"COLABMAGIC_DATA_URL_{name}", raising=False)
    return folder


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- file makers, in the official formats -----------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file: 0, 0, type 0x08 (uint8), ndim, big-endian uint32 dims, then the bytes; gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def mnist_files(n_train=30, n_test=10) -> dict[str, bytes]:
    arrays = {
        "train-images-idx3-ubyte.gz": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    return {name: idx_bytes(a) for name, a in arrays.items()}


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def cifar_batch(n: int, label_key: str, n_classes: int, offset: int = 0) -> bytes:
    """A batch as the official files hold it: protocol-2 pickle of a dict, data uint8 (n, 3072)."""
    batch = {"batch_label": "batch", "data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
             label_key: [(offset + i) % n_classes for i in range(n)],
             "filenames": [f"img_{i}.png" for i in range(n)]}
    if label_key == "fine_labels":
        batch["coarse_labels"] = [i % 20 for i in range(n)]
    return pickle.dumps(batch, protocol=2)


def cifar10_archive() -> bytes:
    members = {f"cifar-10-batches-py/data_batch_{i}": cifar_batch(4, "labels", 10, offset=i) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = cifar_batch(6, "labels", 10)
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
         "num_cases_per_batch": 4, "num_vis": 3072}, protocol=2)
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    return tar_gz(members)


def cifar100_archive() -> bytes:
    return tar_gz({
        "cifar-100-python/train": cifar_batch(12, "fine_labels", 100, offset=90),
        "cifar-100-python/test": cifar_batch(5, "fine_labels", 100),
        "cifar-100-python/meta": pickle.dumps({"fine_label_names": [f"fine{i}" for i in range(100)],
                                               "coarse_label_names": [f"coarse{i}" for i in range(20)]}, protocol=2),
    })


IMDB_TRAIN = {
    "pos": ["A great film, great acting.<br />Loved it!", "Great fun and great music", "Loved the cast"],
    "neg": ["Awful film. Boring plot, boring acting", "Boring and awful", "I didn't like it at all"],
}
IMDB_TEST = {"pos": ["Great zanzibar film"], "neg": ["Awful, truly awful"]}


def imdb_members(prefix: str = "aclImdb/") -> dict[str, bytes]:
    members = {f"{prefix}imdb.vocab": b"the\nand\n", f"{prefix}README": b"readme",
               f"{prefix}train/unsup/0_0.txt": b"unsupervised zanzibar zanzibar zanzibar zanzibar"}
    for split, reviews in (("train", IMDB_TRAIN), ("test", IMDB_TEST)):
        for label, texts in reviews.items():
            for i, text in enumerate(texts):
                members[f"{prefix}{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt"] = text.encode()
    return members


def png(path: Path, size: tuple[int, int], mode: str = "RGB", value: int = 0) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size, color).save(path)


# --- registry, names, data folder -------------------------------------------------------------

def test_list_datasets_names_and_descriptions():
    names = [name for name, _ in list_datasets()]
    assert names == ["digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imdb"]
    assert all(isinstance(text, str) and text and "\n" not in text for _, text in list_datasets())


def test_data_dir_follows_the_environment(data_folder, monkeypatch):
    assert data_dir() == data_folder
    monkeypatch.delenv("COLABMAGIC_DATA")
    assert data_dir() == Path.home() / ".cache" / "colabmagic" / "datasets"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(DataError) as info:
        load_dataset("cifar")
    assert str(info.value) == "Unknown dataset 'cifar' - did you mean 'cifar10'? (see %train --list)"
    with pytest.raises(DataError, match="Unknown dataset 'qwerty' and no file or folder"):
        load_dataset("qwerty")
    with pytest.raises(DataError, match="No such file or folder: nothere.csv"):
        load_dataset("nothere.csv")


def test_options_that_do_not_apply_are_refused():
    with pytest.raises(ConfigError, match="vocab_size= does not apply to digits: it takes no options"):
        load_dataset("digits", vocab_size=10)
    with pytest.raises(ConfigError, match="target= is for CSV files"):
        load_dataset("digits", target="label")
    with pytest.raises(ConfigError, match="val_split= must be a fraction"):
        load_dataset("digits", val_split=1.5)


def test_importing_the_package_is_cheap():
    probe = ("import sys, json, colabmagic.train.data as d; d.list_datasets(); "
             "print(json.dumps([m for m in ('torch', 'numpy', 'sklearn', 'PIL') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


# --- digits -----------------------------------------------------------------------------------

def test_digits_is_the_published_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ds = load_dataset("digits")
    assert (ds.name, ds.kind, ds.num_classes, ds.input_shape) == ("digits", "image", 10, (1, 8, 8))
    assert (len(ds.x_train), len(ds.x_test)) == (1437, 360)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    x, y = load_digits(return_X_y=True)
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    assert torch.equal(ds.x_test, torch.from_numpy((x_test / 16).astype(np.float32).reshape(-1, 1, 8, 8)))
    assert torch.equal(ds.y_test, torch.from_numpy(y_test))
    assert ds.mean == pytest.approx((ds.x_train.double().mean().item(),))
    assert ds.std == pytest.approx((ds.x_train.double().std(unbiased=False).item(),))
    assert ds.source == "sklearn" and ds.x_val is None


def test_val_split_is_stratified_and_follows_the_seed():
    a = load_dataset("digits", val_split=0.1, seed=3)
    b = load_dataset("digits", val_split=0.1, seed=3)
    c = load_dataset("digits", val_split=0.1, seed=4)
    assert (len(a.x_train), len(a.x_val), len(a.x_test)) == (1293, 144, 360)
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_val, c.x_val)
    assert torch.equal(a.x_test, c.x_test)  # the test split never moves
    counts = torch.bincount(a.y_val, minlength=10)
    assert counts.min() >= 13 and counts.max() <= 16  # ~10 % of each class's ~144 examples
    assert str(a) == "digits: image, 1293 train, 144 val, 360 test, 10 classes, input (1, 8, 8)"


def test_stratified_indices_rounding_and_singletons():
    y = np.array([0] * 10 + [1] * 5 + [2])
    kept, held = stratified_indices(y, 0.2, seed=0)
    assert len(held) == 3 and len(kept) == 13
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(16))
    assert 15 in kept  # the only example of class 2 stays on the kept side
    with pytest.raises(DataError, match="Too few examples"):
        stratified_indices(np.array([0, 1, 2]), 0.2, seed=0)


# --- mnist / fashion_mnist (idx) --------------------------------------------------------------

def test_mnist_from_the_data_folder(data_folder):
    files = mnist_files()
    for name, data in files.items():
        (data_folder / "mnist").mkdir(parents=True, exist_ok=True)
        (data_folder / "mnist" / name).write_bytes(data)
    ds = load_dataset("mnist", download=False)
    assert ds.kind == "image" and ds.input_shape == (1, 28, 28)
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert ds.y_train.tolist() == [i % 10 for i in range(30)]
    assert ds.y_test.tolist() == [(i * 3) % 10 for i in range(10)]
    raw = np.frombuffer(gzip.decompress(files["train-images-idx3-ubyte.gz"])[16:], np.uint8)
    assert torch.equal(ds.x_train.flatten(), torch.from_numpy(raw.copy()))
    assert ds.mean == pytest.approx((raw.mean() / 255,)) and ds.std == pytest.approx((raw.std() / 255,))
    assert ds.classes == list(range(10)) and ds.source == str(data_folder / "mnist")


def test_mnist_reads_uncompressed_files_too(tmp_path):
    folder = tmp_path / "elsewhere" / "mnist"
    folder.mkdir(parents=True)
    for name, data in mnist_files().items():
        (folder / name.removesuffix(".gz")).write_bytes(gzip.decompress(data))
    ds = load_dataset("MNIST", data_dir=tmp_path / "elsewhere", download=False)
    assert len(ds.x_train) == 30


def test_idx_with_a_bad_magic_number(data_folder):
    (data_folder / "mnist").mkdir(parents=True)
    for name, data in mnist_files().items():
        (data_folder / "mnist" / name).write_bytes(data)
    (data_folder / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x99\x01abcd"))
    with pytest.raises(DataError, match="is not an idx file"):
        load_dataset("mnist", download=False)


def test_mnist_download_end_to_end(server, data_folder):
    files = mnist_files()
    server.files.update({f"mirror/{name}": data for name, data in files.items()})
    progress = []
    ds = load_dataset("mnist", base_url=server.url + "mirror", checksums={n: md5(d) for n, d in files.items()},
                      progress=lambda done, total: progress.append((done, total)))
    assert ds.x_train.shape == (30, 1, 28, 28) and len(ds.y_test) == 10
    assert files_under(data_folder) == ["mnist"] + [f"mnist/{n}" for n in sorted(files)]
    assert (len(progress), progress[-1][0]) == (4, len(files["t10k-labels-idx1-ubyte.gz"]))
    served = len(server.requests)
    assert torch.equal(load_dataset("mnist", base_url=server.url + "mirror").x_train, ds.x_train)
    assert len(server.requests) == served  # the second load reads the data folder only


def test_fashion_mnist_base_url_from_the_environment(server, monkeypatch):
    files = mnist_files(20, 10)
    server.files.update(files)
    monkeypatch.setenv("COLABMAGIC_DATA_URL_FASHION_MNIST", server.url)
    ds = load_dataset("fashion-mnist", checksums={n: hashlib.sha256(d).hexdigest() for n, d in files.items()},
                      progress=False)
    assert ds.name == "fashion_mnist" and ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert len(ds.x_train) == 20


def test_download_checksum_mismatch_leaves_nothing(server, data_folder):
    files = mnist_files()
    server.files.update(files)
    with pytest.raises(DownloadError, match="Checksum mismatch for train-images-idx3-ubyte.gz"):
        load_dataset("mnist", base_url=server.url, progress=False)  # the published md5s: these differ
    assert files_under(data_folder) == ["mnist"]  # the folder, but neither .part nor file


def test_offline_names_the_files_and_the_folder(data_folder):
    with pytest.raises(DataError) as info:
        load_dataset("mnist", base_url=closed_port_url(), progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"mnist is not in {data_folder / 'mnist'} and could not be downloaded (Cannot reach")
    assert message.endswith("put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz there and run again")
    assert not data_folder.exists()  # nothing written
    with pytest.raises(DataError, match="cifar10 is not in .* and download=False: put cifar-10-python.tar.gz "
                                        r"\(or its extracted cifar-10-batches-py/ folder\) there"):
        load_dataset("cifar10", download=False)


def test_checksum_option_for_a_file_the_dataset_lacks():
    with pytest.raises(ConfigError, match="checksums: mnist has no file 'x.gz'"):
        load_dataset("mnist", checksums={"x.gz": "0" * 32}, base_url=closed_port_url())


# --- cifar10 / cifar100 -----------------------------------------------------------------------

def test_cifar10_download_and_extract(server, data_folder):
    archive = cifar10_archive()
    server.files["cifar-10-python.tar.gz"] = archive
    ds = load_dataset("cifar10", base_url=server.url, checksums={"cifar-10-python.tar.gz": md5(archive)},
                      progress=False)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (6, 3, 32, 32)
    assert ds.x_train.dtype == torch.uint8
    assert ds.y_train.tolist() == [(b + i) % 10 for b in range(1, 6) for i in range(4)]
    assert ds.classes[1] == "automobile" and ds.num_classes == 10
    x = ds.x_train.double() / 255
    assert ds.mean == pytest.approx(tuple(x.mean(dim=(0, 2, 3)).tolist()))
    assert ds.std == pytest.approx(tuple(x.std(dim=(0, 2, 3), unbiased=False).tolist()))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        batch = pickle.loads(tar.extractfile("cifar-10-batches-py/data_batch_1").read())
    assert torch.equal(ds.x_train[0], torch.from_numpy(batch["data"][0].reshape(3, 32, 32)))
    folder = data_folder / "cifar10"
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    (folder / "cifar-10-python.tar.gz").unlink()  # the extracted folder alone is enough
    assert torch.equal(load_dataset("cifar10", download=False).x_test, ds.x_test)


def test_cifar100_uses_fine_labels(data_folder):
    (data_folder / "cifar100").mkdir(parents=True)
    (data_folder / "cifar100" / "cifar-100-python.tar.gz").write_bytes(cifar100_archive())
    ds = load_dataset("cifar100", download=False)
    assert ds.num_classes == 100 and ds.classes[42] == "fine42"
    assert ds.y_train.tolist() == [(90 + i) % 100 for i in range(12)]
    assert ds.x_train.shape == (12, 3, 32, 32) and len(ds.x_test) == 5


def test_cifar_pickle_that_would_run_code_is_refused(data_folder, tmp_path):
    class Exploit:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    members = {f"cifar-10-batches-py/data_batch_{i}": cifar_batch(2, "labels", 10) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = pickle.dumps({"data": Exploit()}, protocol=2)
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps({"label_names": list("abcdefghij")})
    (data_folder / "cifar10").mkdir(parents=True)
    (data_folder / "cifar10" / "cifar-10-python.tar.gz").write_bytes(tar_gz(members))
    with pytest.raises(DataError, match=r"refusing to load \S+ \(only numpy arrays are allowed\)"):
        load_dataset("cifar10", download=False)
    assert not (tmp_path / "pwned").exists()


def test_cifar_archive_with_an_escaping_member_is_refused(data_folder, tmp_path):
    (data_folder / "cifar10").mkdir(parents=True)
    (data_folder / "cifar10" / "cifar-10-python.tar.gz").write_bytes(
        tar_gz({"cifar-10-batches-py/test_batch": b"x", "../../escaped.txt": b"evil"}))
    with pytest.raises(DataError, match="Refusing to extract cifar-10-python.tar.gz"):
        load_dataset("cifar10", download=False)
    assert files_under(data_folder) == ["cifar10", "cifar10/cifar-10-python.tar.gz"]
    assert not (tmp_path / "escaped.txt").exists()


# --- imdb -------------------------------------------------------------------------------------

def test_imdb_download_tokenise_and_cache(server, data_folder):
    archive = tar_gz(imdb_members())
    server.files["aclImdb_v1.tar.gz"] = archive
    ds = load_dataset("imdb", base_url=server.url, checksums={"aclImdb_v1.tar.gz": md5(archive)},
                      progress=False, max_len=6, vocab_size=8)
    assert (ds.kind, ds.classes, ds.vocab_size) == ("text", ["neg", "pos"], 8)
    assert ds.x_train.shape == (6, 6) and ds.x_test.shape == (2, 6) and ds.x_train.dtype == torch.int64
    assert ds.y_train.tolist() == [0, 0, 0, 1, 1, 1] and ds.y_test.tolist() == [0, 1]
    # training-split counts: great 4, boring 3, then 2 each for acting, and, awful, film, it, loved:
    # vocab_size 8 keeps 6 words, ties broken alphabetically
    words = ["great", "boring", "acting", "and", "awful", "film"]
    ids = {w: i for i, w in enumerate(words, start=2)}
    # test/neg/0_2.txt "Awful, truly awful": truly is unknown (1), then padding (0)
    assert ds.x_test[0].tolist() == [ids["awful"], 1, ids["awful"], 0, 0, 0]
    # test/pos/0_7.txt "Great zanzibar film": zanzibar is only in test and unsup -> unknown
    assert ds.x_test[1].tolist() == [ids["great"], 1, ids["film"], 0, 0, 0]
    # train/pos/0_7.txt is truncated to 6 tokens: a great film great acting loved
    assert ds.x_train[3].tolist() == [1, ids["great"], ids["film"], ids["great"], ids["acting"], 1]
    cache = data_folder / "imdb" / "aclImdb-tokens-v1-8-6.npz"
    assert cache.is_file()
    again = load_dataset("imdb", download=False, max_len=6, vocab_size=8)
    assert torch.equal(again.x_train, ds.x_train) and again.vocab_size == 8


def test_imdb_from_an_extracted_folder(data_folder):
    for name, data in imdb_members().items():
        path = data_folder / "imdb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    ds = load_dataset("imdb", download=False)
    assert ds.x_train.shape == (6, 256) and ds.vocab_size == 2 + 19  # pad, unk and 19 training words
    assert tokenize("I didn't<br />LIKE it_all, 2 times") == ["i", "didn't", "like", "it", "all", "2", "times"]
    with pytest.raises(ConfigError, match="vocab_size must be an integer >= 3"):
        load_dataset("imdb", download=False, vocab_size=2)


# --- ImageFolder ------------------------------------------------------------------------------

def test_image_folder_with_a_held_out_test_split(tmp_path):
    root = tmp_path / "pets"
    for i in range(10):
        png(root / "cat" / f"{i}.png", (12, 10), value=i)
        png(root / "dog" / f"{i}.jpg", (12, 10) if i < 7 else (20, 20), value=100 + i)
    png(root / ".ipynb_checkpoints" / "x.png", (5, 5))
    png(root / "cat" / ".hidden.png", (5, 5))
    (root / "notes.txt").write_text("not an image")
    ds = load_dataset(str(root))
    assert (ds.name, ds.kind, ds.classes, ds.input_shape) == ("pets", "image", ["cat", "dog"], (3, 10, 12))
    assert (len(ds.x_train), len(ds.x_test)) == (16, 4)
    assert torch.bincount(ds.y_test).tolist() == [2, 2]
    assert ds.x_train.dtype == torch.uint8 and len(ds.mean) == 3
    assert torch.equal(load_dataset(str(root)).x_test, ds.x_test)  # fixed hold-out


def test_image_folder_with_train_and_test_subfolders(tmp_path):
    root = tmp_path / "shapes"
    for split, n in (("train", 4), ("test", 2), ("val", 1)):
        for label in ("circle", "square"):
            for i in range(n):
                png(root / split / label / f"{i}.png", (8, 8), mode="L", value=40 * i)
    ds = load_dataset(root, image_size=6)
    assert ds.input_shape == (1, 6, 6) and ds.classes == ["circle", "square"]
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (8, 2, 4)
    with pytest.raises(ConfigError, match="already has a validation split"):
        load_dataset(root, val_split=0.2)
    png(root / "test" / "triangle" / "0.png", (8, 8))
    with pytest.raises(DataError, match="class folder 'triangle' that the training folder lacks"):
        load_dataset(root)


def test_image_folder_needs_two_classes(tmp_path):
    png(tmp_path / "one" / "only" / "0.png", (4, 4))
    with pytest.raises(DataError, match="at least two class subfolders"):
        load_dataset(tmp_path / "one")


# --- CSV --------------------------------------------------------------------------------------

def test_digit_recognizer_csv_becomes_images(tmp_path):
    n = 25
    pixels = RNG.integers(0, 256, (n, 784))
    labels = np.arange(n) % 5
    path = tmp_path / "train.csv"
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(path, np.column_stack([labels, pixels]), fmt="%d", delimiter=",", header=header, comments="")
    ds = load_dataset(str(path))
    assert (ds.kind, ds.input_shape, ds.x_train.dtype) == ("image", (1, 28, 28), torch.uint8)
    assert (len(ds.x_train), len(ds.x_test)) == (20, 5) and ds.classes == [0, 1, 2, 3, 4]  # the label values
    kept, held = stratified_indices(labels, 0.2, seed=0)
    assert torch.equal(ds.x_train, torch.from_numpy(pixels[kept].astype(np.uint8).reshape(-1, 1, 28, 28)))
    assert ds.y_test.tolist() == labels[held].tolist()


TITANIC = """PassengerId,Survived,Pclass,Name,Sex,Age,Embarked
1,no,3,"Braund, Mr. Owen",male,22,S
2,yes,1,"Cumings, Mrs. John",female,38,C
3,yes,3,"Heikkinen, Miss. Laina",female,26,S
4,yes,1,"Futrelle, Mrs. Jacques",female,35,S
5,no,3,"Allen, Mr. William",male,35,S
6,no,3,"Moran, Mr. James",male,,Q
7,no,1,"McCarthy, Mr. Timothy",male,54,S
8,no,3,"Palsson, Master. Gosta",male,2,S
9,yes,3,"Johnson, Mrs. Oscar",female,27,S
10,yes,2,"Nasser, Mrs. Nicholas",female,14,C
"""


def test_tabular_csv_with_text_target_and_categories(tmp_path):
    path = tmp_path / "titanic.csv"
    path.write_text(TITANIC)
    with pytest.raises(DataError) as info:
        load_dataset(path)
    assert str(info.value) == ("titanic.csv has no 'label' column: pass target=COLUMN "
                               "(columns: PassengerId, Survived, Pclass, Name, Sex, Age, Embarked)")
    with pytest.raises(DataError, match=r"target='survived!': titanic.csv has no such column \(columns: Passeng"):
        load_dataset(path, target="survived!")
    ds = load_dataset(path, target="Survived", drop=["PassengerId"])
    assert ds.classes == ["no", "yes"] and ds.kind == "tabular" and ds.x_train.dtype == torch.float32
    survived = np.array([line.split(",")[1] == "yes" for line in TITANIC.splitlines()[1:]])
    kept, held = stratified_indices(survived, 0.2, seed=0)
    assert ds.y_test.tolist() == survived[held].astype(int).tolist()
    embarked = {line.rsplit(",", 1)[1] for i, line in enumerate(TITANIC.splitlines()[1:]) if i in kept}
    # Pclass, then one-hot Name (a value per training row), Sex (2), then Age, then one-hot Embarked
    assert ds.input_shape == (1 + len(kept) + 2 + 1 + len(embarked),)
    assert torch.allclose(ds.x_train.mean(0), torch.zeros(ds.input_shape), atol=1e-6)
    assert torch.allclose(ds.x_train.std(0, unbiased=False), torch.ones(ds.input_shape), atol=1e-5)
    assert not torch.isnan(ds.x_train).any() and not torch.isnan(ds.x_test).any()
    if 5 in kept:  # Moran's missing age became the training mean: 0 after standardising
        assert ds.x_train[list(kept).index(5), 1 + len(kept) + 2].item() == pytest.approx(0, abs=1e-6)
    names_in_test = ds.x_test[:, 1:1 + len(kept)]
    assert torch.all(names_in_test == names_in_test[0, 0])  # names only the test rows have: all zeros


def test_csv_text_column_with_too_many_values_is_refused(tmp_path):
    rows = ["id,city,label"] + [f"{i},city{i},{i % 2}" for i in range(80)]
    path = tmp_path / "cities.csv"
    path.write_text("\n".join(rows))
    with pytest.raises(DataError, match=r"cities.csv: text column 'city' \(6\d values\) has more than 50 distinct "
                                        r"values to one-hot encode: leave it out with drop='city', or train a "
                                        r"text model \(lstm, transformer\) on one with text='city'"):
        load_dataset(path)
    ds = load_dataset(path, drop="city")
    assert ds.input_shape == (1,) and ds.classes == [0, 1]
    assert list(tmp_path.iterdir()) == [path]  # nothing written


def test_numeric_csv_standardised_with_training_statistics(tmp_path):
    x = RNG.normal(5, 3, (40, 3))
    y = np.arange(40) % 4 + 1  # classes 1..4 become 0..3, names kept
    path = tmp_path / "numbers.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="a,b,c,Label", comments="")
    ds = load_dataset(path, val_split=0.25)
    assert ds.classes == [1, 2, 3, 4] and ds.y_test.max() == 3
    kept, held = stratified_indices(y, 0.2, seed=0)
    train = x[kept]
    expected = (x[held] - train.mean(0)) / train.std(0)
    assert np.allclose(ds.x_test.numpy(), expected, atol=1e-5)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (24, 8, 8)


def test_csv_regression_target_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("size,price\n1,10.5\n2,20.25\n3,30.1\n")
    with pytest.raises(DataError, match="non-integer values .* %train does classification"):
        load_dataset(path, target="price")


# --- npz and arrays ---------------------------------------------------------------------------

def test_npz_with_official_splits_and_class_names(tmp_path):
    path = tmp_path / "faces.npz"
    np.savez(path, x_train=RNG.random((12, 16, 16)), y_train=np.arange(12) % 3, x_test=RNG.random((6, 16, 16)),
             y_test=np.arange(6) % 3, classes=np.array(["a", "b", "c"]))
    ds = load_dataset(path)
    assert (ds.kind, ds.input_shape, ds.classes) == ("image", (1, 16, 16), ["a", "b", "c"])
    assert (len(ds.x_train), len(ds.x_test), ds.x_train.dtype) == (12, 6, torch.float32)


def test_npz_with_x_and_y_only_and_bad_keys(tmp_path):
    np.savez(tmp_path / "xy.npz", x=RNG.random((30, 5)), y=np.array(["cat", "dog"] * 15))
    ds = load_dataset(tmp_path / "xy.npz")
    assert (ds.kind, len(ds.x_train), len(ds.x_test), ds.classes) == ("tabular", 24, 6, ["cat", "dog"])
    np.savez(tmp_path / "bad.npz", features=np.zeros(3))
    with pytest.raises(DataError, match="needs arrays x_train and y_train .* it has features"):
        load_dataset(tmp_path / "bad.npz")


def test_from_arrays_kinds():
    images = torch.rand(40, 28, 28)  # torch tensor, (N, H, W) floats in 0..1
    ds = from_arrays(images, torch.arange(40) % 2, name="mine")
    assert (ds.name, ds.kind, ds.input_shape, len(ds.x_test)) == ("mine", "image", (1, 28, 28), 8)
    channels_last = RNG.integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    ds = from_arrays(channels_last, [0, 1] * 10)
    assert ds.input_shape == (3, 8, 8) and ds.x_train.dtype == torch.uint8
    table = from_arrays([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] * 4, ["x", "y", "x", "y", "x"] * 4)
    assert (table.kind, table.input_shape, table.classes) == ("tabular", (2,), ["x", "y"])
    tokens = RNG.integers(0, 50, (20, 7))
    assert from_arrays(tokens, np.arange(20) % 2).kind == "tabular"  # integers stay tabular unless told
    text = from_arrays(tokens, np.arange(20) % 2, kind="text")
    assert (text.kind, text.vocab_size, text.x_train.dtype) == ("text", int(tokens.max()) + 1, torch.int64)


def test_from_arrays_rejects_what_it_cannot_train_on():
    with pytest.raises(DataError, match="Float images must be in 0..1"):
        from_arrays(np.full((10, 4, 4), 200.0), np.arange(10) % 2)
    with pytest.raises(DataError, match="x_train has 10 examples but y_train has 9"):
        from_arrays(np.zeros((10, 3)), np.zeros(9, dtype=int))
    with pytest.raises(DataError, match="non-integer values"):
        from_arrays(np.zeros((10, 3)), np.linspace(0, 1, 10))


def test_from_arrays_val_split_is_deterministic():
    x, y = RNG.random((100, 4)), np.arange(100) % 5
    a, b = from_arrays(x, y, val_split=0.25, seed=7), from_arrays(x, y, val_split=0.25, seed=7)
    assert torch.equal(a.x_val, b.x_val) and (len(a.x_train), len(a.x_val), len(a.x_test)) == (60, 20, 20)
    assert torch.bincount(a.y_val).tolist() == [4] * 5


# --- data preparation options (issue 9 §3) ---------------------------------------------------

def test_drop_takes_a_comma_list_and_names_a_missing_column(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,age,height,label\n" + "".join(f"{i},n{i},{20 + i % 7},{150 + i},{i % 2}\n"
                                                         for i in range(60)))
    ds = load_dataset(path, drop="id, name")
    assert ds.input_shape == (2,) and [c["name"] for c in ds.preprocessing["columns"]] == ["age", "height"]
    assert load_dataset(path, drop=["id", "name", "height"]).input_shape == (1,)
    with pytest.raises(DataError, match=r"drop='nope': people.csv has no such column \(columns: id, name, age"):
        load_dataset(path, drop="id,nope")


def test_image_size_for_folders_and_arrays(tmp_path):
    root = tmp_path / "pics"
    for i in range(6):
        png(root / "a" / f"{i}.png", (40, 30), value=i * 10)
        png(root / "b" / f"{i}.png", (40, 30), value=200 - i)
    assert load_dataset(root, image_size="16").input_shape == (3, 16, 16)
    assert load_dataset(root, image_size="12x20").input_shape == (3, 12, 20)   # HxW
    assert load_dataset(root).input_shape == (3, 30, 40)                      # as they are
    arrays = from_arrays(RNG.integers(0, 256, (20, 3, 24, 24)).astype(np.uint8), np.arange(20) % 2,
                         image_size="8x12")
    assert arrays.input_shape == (3, 8, 12) and arrays.x_train.dtype == torch.uint8
    with pytest.raises(ConfigError, match="image_size= must be N or HxW"):
        load_dataset(root, image_size="big")
    with pytest.raises(ConfigError, match=r"image_size= does not apply to people.csv: it takes target=, drop=, "):
        (tmp_path / "people.csv").write_text("a,label\n1,0\n2,1\n")
        load_dataset(tmp_path / "people.csv", image_size="8")


def test_large_photos_are_resized_to_the_models_natural_size(tmp_path):
    from PIL import Image

    root = tmp_path / "camera"
    for i in range(8):  # camera-sized JPEGs
        (root / ("cat" if i % 2 else "dog")).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (1600, 1200), (i * 30, 255 - i * 30, 7)).save(root / ("cat" if i % 2 else "dog") / f"{i}.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a note, not a warning: the run tells it once (notes.py)
        ds = load_dataset(root, natural_image_size=32)
        big = from_arrays(RNG.integers(0, 256, (10, 3, 100, 100)).astype(np.uint8), np.arange(10) % 2,
                          natural_image_size=28)
    assert ds.notes == ("images resized from 1200x1600 to 32x32, the model's natural size: "
                        "image_size=HxW chooses another",)
    assert ds.input_shape == (3, 32, 32) and "resized from 1200x1600" in str(ds)
    assert load_dataset(root, natural_image_size=32, image_size="48x64").input_shape == (3, 48, 64)  # overrides
    assert big.input_shape == (3, 28, 28) and "images resized from 100x100 to 28x28" in big.notes[0]


def test_csv_text_column_for_text_models(tmp_path):
    path = tmp_path / "reviews.csv"
    good, bad = ["great film, loved it", "wonderful and fun"], ["boring, awful plot", "dull and bad"]
    rows = [f'{i},"{(good if i % 2 else bad)[i % 4 // 2]}",{"pos" if i % 2 else "neg"}' for i in range(40)]
    path.write_text("id,review,sentiment\n" + "\n".join(rows) + "\n")
    ds = load_dataset(path, target="sentiment", text="review")
    assert (ds.kind, ds.classes, ds.input_shape) == ("text", ["neg", "pos"], (4,))
    vocab = ds.preprocessing["vocab"]
    assert ds.vocab_size == len(vocab) + 2 and "loved" in vocab and ds.preprocessing["column"] == "review"
    first = ds.x_train[0].tolist()  # row 0 is a "neg" review: "boring, awful plot"
    assert first == [vocab.index(w) + 2 for w in ("boring", "awful", "plot")] + [0]
    with pytest.raises(DataError, match=r"text='nope': reviews.csv has no such feature column"):
        load_dataset(path, target="sentiment", text="nope")


def test_from_arrays_with_a_list_of_texts():
    texts = ["a good happy film", "bad sad film", "good fun", "sad and bad"] * 5
    ds = from_arrays(texts, ["up", "down", "up", "down"] * 5)
    assert (ds.kind, ds.classes, len(ds.x_train), len(ds.x_test)) == ("text", ["down", "up"], 16, 4)
    assert ds.input_shape == (4,) and set(ds.preprocessing["vocab"]) >= {"good", "bad", "film"}


@pytest.mark.parametrize("encoding,delimiter", [("utf-8-sig", ";"), ("utf-8", "\t"), ("gbk", ","), ("gbk", ";")])
def test_csv_delimiter_and_encoding_are_sniffed(tmp_path, encoding, delimiter):
    header = delimiter.join(["城市", "温度", "标签"])
    rows = [delimiter.join([["北京", "上海", "广州"][i % 3], f"{i % 9}{',5' if delimiter == ';' else '.5'}",
                            ["晴", "雨"][i % 2]]) for i in range(30)]
    path = tmp_path / "weather.csv"
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    ds = load_dataset(path, target="标签")
    assert ds.classes == ["晴", "雨"] and ds.kind == "tabular"
    columns = ds.preprocessing["columns"]
    assert [(c["name"], c["type"]) for c in columns] == [("城市", "category"), ("温度", "number")]
    assert columns[0]["values"] == ["上海", "北京", "广州"]


def test_dataframe_with_text_and_missing_values_is_read_like_a_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"colour": ["red", "blue", None, "red"] * 10,
                          "size": [1.0, np.nan, 3.0, 4.0] * 10,
                          "when": pd.to_datetime(["2020-01-01", "2020-06-15", "2021-03-03", None] * 10),
                          "label": ["a", "b"] * 20})
    ds = from_arrays(frame, "label")
    types = {c["name"]: c["type"] for c in ds.preprocessing["columns"]}
    assert types == {"colour": "category", "size": "number", "when": "date"}
    assert not torch.isnan(ds.x_train).any() and ds.classes == ["a", "b"]
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    assert load_dataset(path).input_shape == ds.input_shape  # the same table as a CSV: the same features
    ds = from_arrays(frame.drop(columns="label"), frame["label"], drop="when")
    assert {c["name"] for c in ds.preprocessing["columns"]} == {"colour", "size"}


def test_date_columns_become_numbers(tmp_path):
    path = tmp_path / "seattle.csv"
    days = ["2012/01/01", "2012/01/02", "2012/02/29", "2013/07/04", "2014/12/31"] * 8
    weather = ["rain", "sun"] * 20
    path.write_text("date,precipitation,weather\n" + "".join(f"{d},{i % 5}.0,{w}\n" for i, (d, w)
                                                             in enumerate(zip(days, weather))))
    ds = load_dataset(path, target="weather")
    [date, _] = ds.preprocessing["columns"]
    assert date == {"name": "date", "type": "date", "parts": ["year", "month", "dayofyear", "weekday"],
                    "fill": date["fill"]}
    from colabmagic.train.preprocess import date_parts

    assert date_parts(["2012/02/29", "2013-07-04T15:30:00Z", "2014-12-31 06:00", ""], date["parts"] + ["hour"]
                      ).tolist()[:3] == [[2012, 2, 60, 2, 0], [2013, 7, 185, 3, 15.5], [2014, 12, 365, 2, 6]]
    iso = tmp_path / "iso.csv"
    iso.write_text("t,label\n" + "".join(f"2020-03-0{1 + i % 9}T{i % 24:02d}:15:00+02:00,{i % 2}\n" for i in range(30)))
    assert load_dataset(iso).preprocessing["columns"][0]["parts"][-1] == "hour"


def test_vega_seattle_weather_trains_through_the_magic(shell, workdir):
    vega = pytest.importorskip("vega_datasets")
    from conftest import run_ok

    path = Path(vega.__file__).parent / "_data" / "seattle-weather.csv"
    result = run_ok(shell, f"%train mlp {path} --target weather --epochs 1 --device cpu -o")
    assert result.classes == ["drizzle", "fog", "rain", "snow", "sun"] and result.metrics["test_accuracy"] > 0.4


def test_a_target_with_nearly_as_many_classes_as_rows_warns(tmp_path):
    path = tmp_path / "cars.csv"
    path.write_text("Name,mpg,Cylinders\n" + "".join(f"car {i // 2 if i < 20 else i},{10 + i % 30},{4 + i % 3}\n"
                                                      for i in range(60)))
    with pytest.warns(UserWarning, match=r"the target 'Name' has 50 classes for 60 examples \(1.2 per class\).*"
                                         r"target=COLUMN"):
        load_dataset(path, target="Name", test_split=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(path, target="Cylinders")  # 3 classes: no warning


def test_the_magic_names_its_own_flags(shell, workdir):
    rows = ["id,city,label"] + [f"{i},city{i},{i % 2}" for i in range(80)]
    (workdir / "cities.csv").write_text("\n".join(rows))
    outcome = shell.run_cell("%train mlp cities.csv --epochs 1", store_history=False)
    assert not outcome.success
    message = str(outcome.error_in_exec)
    assert "leave it out with --drop city, or train a text model (lstm, transformer) on one with --text city" in message
    assert "drop=" not in message and not (workdir / "runs").exists()


# --- notes: a warning in Python, a line in the magic ------------------------------------------------

def test_python_warns_with_the_small_split_and_run_name_clash_notes(workdir):
    from colabmagic.train import train
    from colabmagic.train.notes import TrainingNote

    fast = dict(epochs=1, threads=1, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    with pytest.warns(TrainingNote, match=r"^the test split has only 12 examples: its accuracy is a rough guide$"):
        small = train("mlp", data=(x, y), name="exp1", **fast)
    with pytest.warns(TrainingNote, match=r"^runs/exp1 already holds a run: this one writes to runs/exp1-2$"):
        clash = train("mlp", data=(x, y), name="exp1", **fast)
    assert clash.name == "exp1-2" and clash.extra["notes"][-1].startswith("runs/exp1 already holds a run")
    assert any("only 12 examples" in note for note in small.extra["notes"])  # still kept on the result


# --- the CSV reader: pandas' C parser under our rules (issue 13) ----------------------------------

def read(path):
    from colabmagic.train.data.reader import read_table

    header, columns = read_table(path)
    return header, [c.tolist() if c.dtype.kind == "f" else list(c) for c in columns]


def same(a, b):  # NaN == NaN for these comparisons
    return len(a) == len(b) and all((x != x and y != y) or x == y for x, y in zip(a, b))


def test_decimal_commas_sniffed_on_the_sample_and_found_past_it(tmp_path):
    sniffed = tmp_path / "sniffed.csv"
    sniffed.write_text("a;b;label\n1,5;x;0\n2.25;y;1\n-,5;z;0\n3;x;1\n")  # a decimal point is a number too
    header, columns = read(sniffed)
    assert header == ["a", "b", "label"] and same(columns[0], [1.5, 2.25, -0.5, 3.0])
    late = tmp_path / "late.tsv"  # the first megabyte has none, row 150,000 has one
    late.write_text("a\tlabel\n" + "".join(f"{i}\t{i % 2}\n" for i in range(150_000)) + "7,5\t1\n")
    header, columns = read(late)
    assert columns[0][-1] == 7.5 and columns[0][:3] == [0.0, 1.0, 2.0] and len(columns[0]) == 150_001
    comma = tmp_path / "comma.csv"  # with the "," delimiter a quoted "1,5" is text
    comma.write_text('a,label\n"1,5",0\n2,1\n')
    assert read(comma)[1][0] == ["1,5", "2"]


def test_missing_markers_spaces_and_infinities_in_number_columns(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,c,label\n 1 ,NA,inf,0\n2,?,-Infinity,1\nnull, n/a ,3,0\n4,None,nan,1\n,NaN,5,0\n")
    _, (a, b, c, _) = read(path)
    nan = float("nan")
    assert same(a, [1.0, 2.0, nan, 4.0, nan]) and same(b, [nan] * 5) and same(c, [nan, nan, 3.0, nan, 5.0])
    ds = load_dataset(path, test_split=0)
    [spec_a, spec_b, spec_c] = ds.preprocessing["columns"]
    assert (spec_a["type"], spec_a["fill"], spec_b["fill"], spec_c["fill"]) == ("number", 7 / 3, 0.0, 4.0)
    assert not torch.isnan(ds.x_train).any()


def test_text_keeps_its_spelling_true_false_and_mixed_chunks(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("flag,code,label\nTrue,007,a\nFALSE,1,b\ntrue,2,a\nFalse,x,b\n")
    _, (flag, code, label) = read(path)
    assert flag == ["True", "FALSE", "true", "False"] and code == ["007", "1", "2", "x"]  # not bools, not 7
    ds = load_dataset(path, test_split=0)
    assert ds.preprocessing["columns"][0]["values"] == ["FALSE", "False", "True", "true"]
    mixed = tmp_path / "mixed.csv"  # pandas types the first chunks as numbers, a later one as text
    mixed.write_text("n,label\n" + "".join(f"0{i % 3}.50,{i % 2}\n" for i in range(300_000)) + "many,1\n")
    _, (n, _) = read(mixed)
    assert n[:3] == ["00.50", "01.50", "02.50"] and n[-1] == "many"


def test_row_messages_blank_rows_and_duplicate_names(tmp_path):
    cases = {"short.csv": ("a,b,label\n1,x,0\n2,y\n3,z,1\n", "short.csv line 3 has 2 fields but the header has 3"),
             "long.csv": ("a,b,label\n1,x,0\n2,y,1,9\n", "long.csv line 3 has 4 fields but the header has 3"),
             "first.csv": ("a,b,label\n1,x,0,9\n2,y,1\n", "first.csv line 2 has 4 fields but the header has 3"),
             "header.csv": ("a,b,label\n", "header.csv has a header but no rows")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=f"^{message}$"):
            load_dataset(tmp_path / name)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty.csv is empty: a CSV needs a header row and one row per example$"):
        load_dataset(tmp_path / "empty.csv")
    blank = tmp_path / "blank.csv"
    blank.write_text('a,a,label\n1,x,0\n,,\n\n   \n2,"y\nz",1\n3,,0\n')  # an empty last cell is not a short row
    header, columns = read(blank)
    assert header == ["a", "a", "label"] and columns[1] == ["x", "y\nz", ""] and columns[2] == [0.0, 1.0, 0.0]


def test_an_undecodable_byte_past_the_sample_is_one_line(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,label\n" + b"1,0\n" * 300_000 + b"\xff\xfe,1\n")
    with pytest.raises(DataError, match=r"^Cannot read late.csv: 'utf-8' codec can't decode .* \(save it as UTF-8\)$"):
        load_dataset(path)
    western = tmp_path / "western.csv"
    western.write_bytes("name,v,label\ncafé,1,0\nnaïve,2,1\n".encode("cp1252"))
    assert read(western)[1][0] == ["café", "naïve"]


def test_features_are_the_whole_matrix_arithmetic_bit_for_bit(tmp_path):
    """Standardised a few columns at a time, the tensors equal numpy's mean/std over the (N, F)
    matrix (as before): a checkpoint's data fingerprint still matches on --resume."""
    rng = np.random.default_rng(4)
    for features in (1, 9):  # one column (numpy sums it pairwise), 8 + a lone one (row after row)
        x = rng.normal(3, 7, (500, features)) * 10.0 ** rng.integers(-3, 4, features)
        y = np.arange(500) % 3
        path = tmp_path / f"f{features}.csv"
        np.savetxt(path, np.column_stack([x, y]), delimiter=",", comments="",
                   header=",".join([f"c{i}" for i in range(features)] + ["label"]), fmt="%.17g")
        ds = load_dataset(path)
        kept, held = stratified_indices(y, 0.2, seed=0)
        mean, std = x[kept].mean(axis=0), x[kept].std(axis=0)
        assert torch.equal(ds.x_train, torch.from_numpy(((x[kept] - mean) / std).astype(np.float32)))
        assert torch.equal(ds.x_test, torch.from_numpy(((x[held] - mean) / std).astype(np.float32)))
        assert np.array_equal(ds.preprocessing["mean"].numpy(), mean)


def test_predict_encodes_the_file_as_training_did(tmp_path):
    """Categories, dates, gaps and a value only the test rows have: prepare() on the same file gives
    the training tensors, row for row."""
    from colabmagic.train.preprocess import prepare

    path = tmp_path / "shop.csv"
    rows = [f"{['red', 'blue', ' green ', 'NA'][i % 4]},{'' if i % 7 == 0 else i % 11},"
            f"2021-{1 + i % 12:02d}-{1 + i % 28:02d},{'yes' if i % 3 else 'no'}" for i in range(120)]
    rows[5] = "violet,3,,no"  # a colour in one row only, a missing date
    path.write_text("colour,n,day,bought\n" + "\n".join(rows) + "\n")
    ds = load_dataset(path, target="bought")
    colour, n, day = ds.preprocessing["columns"]
    assert colour["values"][:3] == ["NA", "blue", "green"] and day["type"] == "date" and n["type"] == "number"
    again = prepare(ds.preprocessing, str(path))
    kept, held = stratified_indices(np.array([r.endswith("yes") for r in rows]), 0.2, seed=0)
    assert torch.equal(again[kept], ds.x_train) and torch.equal(again[held], ds.x_test)
