"""COLABMAGIC_DATA_MIRROR: a base URL or a local folder tried for the named datasets before their
own sources, with the same checksums.

The mirror is a real http.server on 127.0.0.1 (tests/test_fetch.py's LocalServer) or a folder on
disk; the "official" source is a second path on the same server, given through load_dataset's
base_url= (what replaces the published URLs in tests). Files are made in the real formats by
tests/test_train_data.py's makers; `checksums=` stands for the published checksums.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from colabmagic.errors import ConfigError, DownloadError
from colabmagic.train.data import load_dataset
from colabmagic.train.data.remote import MIRROR_VARIABLE
from test_fetch import closed_port_url, no_proxy  # noqa: F401  (no_proxy: autouse fixture)
from test_train_data import cifar10_archive, cifar100_archive, files_under, imdb_members, mnist_files, tar_gz
# fixtures: a local HTTP server, and each test's own empty data folder (autouse: no mirror or URL from the run's environment)
from test_train_data import data_folder, server  # noqa: F401

# dataset -> (its files in the real formats, how many training examples they hold)
DATASETS = {
    "mnist": (lambda: mnist_files(), 30),
    "fashion_mnist": (lambda: mnist_files(20, 10), 20),
    "cifar10": (lambda: {"cifar-10-python.tar.gz": cifar10_archive()}, 20),
    "cifar100": (lambda: {"cifar-100-python.tar.gz": cifar100_archive()}, 12),
    "imdb": (lambda: {"aclImdb_v1.tar.gz": tar_gz(imdb_members())}, 6),
}




def md5s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}


def served(server, prefix: str) -> list[str]:
    return [path for path, _ in server.requests if path.startswith(prefix)]


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_named_dataset_comes_from_the_mirror_first(name, server, data_folder, monkeypatch):
    make, n_train = DATASETS[name]
    files = make()
    server.files.update({f"mirror/{name}/{file}": data for file, data in files.items()})
    server.files.update({f"official/{file}": data for file, data in files.items()})
    monkeypatch.setenv(MIRROR_VARIABLE, server.url + "mirror")  # no trailing slash: added
    ds = load_dataset(name, base_url=server.url + "official", checksums=md5s(files), progress=False)
    assert len(ds.x_train) == n_train and ds.notes == ()
    assert sorted(served(server, "mirror/")) == sorted(f"mirror/{name}/{file}" for file in files)
    assert served(server, "official/") == []
    assert all((data_folder / name / file).read_bytes() == data for file, data in files.items())


def test_a_mirror_file_with_another_checksum_is_refused_and_the_next_source_used(server, data_folder, monkeypatch):
    files = mnist_files()
    tampered = "t10k-labels-idx1-ubyte.gz"
    server.files.update({f"mirror/mnist/{file}": data for file, data in files.items()})
    server.files[f"mirror/mnist/{tampered}"] = files["train-labels-idx1-ubyte.gz"]  # a valid idx file, wrong one
    server.files.update({f"official/{file}": data for file, data in files.items()})
    monkeypatch.setenv(MIRROR_VARIABLE, server.url + "mirror/")
    ds = load_dataset("mnist", base_url=server.url + "official/", checksums=md5s(files), progress=False)
    assert served(server, "official/") == [f"official/{tampered}"]  # only the refused file
    assert (data_folder / "mnist" / tampered).read_bytes() == files[tampered]
    assert files_under(data_folder) == ["mnist"] + [f"mnist/{file}" for file in sorted(files)]  # no .part left
    [note] = ds.notes
    assert "\n" not in note
    assert note.startswith(f"Checksum mismatch for {tampered} from {server.url}mirror/mnist/{tampered} "
                           f"(expected md5 {md5s(files)[tampered]}, got ")
    assert note.endswith(f"; {tampered} was downloaded from {server.url}official/ instead")


def test_the_published_checksums_hold_for_the_mirror_too(server, data_folder, monkeypatch):
    """Without checksums=, a mirror serving anything but the official bytes is refused: here every source is."""
    files = mnist_files()
    server.files.update({f"mirror/mnist/{file}": data for file, data in files.items()})
    monkeypatch.setenv(MIRROR_VARIABLE, server.url + "mirror")
    with pytest.raises(DownloadError) as info:
        load_dataset("mnist", base_url=closed_port_url(), progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"mnist is not in {data_folder / 'mnist'} and could not be downloaded (Checksum mismatch "
                              f"for train-images-idx3-ubyte.gz from {server.url}mirror/mnist/")
    assert "expected md5 f68b3c2dcbeaaa9fbdd348bbdeb94873" in message and "; Cannot reach 127.0.0.1" in message
    assert files_under(data_folder) == ["mnist"]  # nothing half-written


def test_a_file_the_mirror_lacks_comes_from_the_next_source(server, data_folder, monkeypatch):
    files = mnist_files()
    server.files.update({f"mirror/mnist/{file}": data for file, data in files.items() if file.startswith("train")})
    server.files.update({f"official/{file}": data for file, data in files.items()})
    monkeypatch.setenv(MIRROR_VARIABLE, server.url + "mirror")
    ds = load_dataset("mnist", base_url=server.url + "official", checksums=md5s(files), progress=False)
    assert sorted(served(server, "official/")) == ["official/t10k-images-idx3-ubyte.gz",
                                                   "official/t10k-labels-idx1-ubyte.gz"]
    assert ds.notes == ()  # a missing file (HTTP 404) is routine, not worth a note
    assert len(ds.x_test) == 10


@pytest.mark.parametrize("form", ["folder", "file URL"])
def test_a_local_folder_as_the_mirror(form, server, tmp_path, data_folder, monkeypatch):
    files = {"cifar-10-python.tar.gz": cifar10_archive()}
    shared = tmp_path / "shared disk" / "datasets"  # a space: the folder's file URL quotes it
    (shared / "cifar10").mkdir(parents=True)
    (shared / "cifar10" / "cifar-10-python.tar.gz").write_bytes(files["cifar-10-python.tar.gz"])
    monkeypatch.setenv(MIRROR_VARIABLE, str(shared) if form == "folder" else shared.as_uri())
    ds = load_dataset("cifar10", base_url=server.url, checksums=md5s(files), progress=False)
    assert ds.x_train.shape == (20, 3, 32, 32) and server.requests == []
    assert (data_folder / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == files["cifar-10-python.tar.gz"]
    assert (shared / "cifar10" / "cifar-10-python.tar.gz").is_file()  # copied, not moved


def test_a_local_mirror_with_a_wrong_file_is_refused(server, tmp_path, data_folder, monkeypatch):
    files = mnist_files()
    shared = tmp_path / "shared" / "fashion_mnist"
    shared.mkdir(parents=True)
    for file, data in files.items():
        (shared / file).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit off: a damaged copy
    server.files.update(files)
    monkeypatch.setenv(MIRROR_VARIABLE, str(shared.parent))
    ds = load_dataset("fashion-mnist", base_url=server.url, checksums=md5s(files), progress=False)
    assert len(ds.notes) == 4 and all(note.startswith("Checksum mismatch") for note in ds.notes)
    assert len(server.requests) == 4
    assert torch.equal(load_dataset("fashion_mnist", download=False).x_train, ds.x_train)


def test_files_already_in_the_data_folder_never_reach_the_mirror(server, data_folder, monkeypatch):
    files = mnist_files()
    (data_folder / "mnist").mkdir(parents=True)
    for file, data in files.items():
        (data_folder / "mnist" / file).write_bytes(data)
    monkeypatch.setenv(MIRROR_VARIABLE, server.url)
    assert len(load_dataset("mnist", progress=False).x_train) == 30
    assert server.requests == []


@pytest.mark.parametrize("value", ["ftp://mirror.example/datasets", "s3://bucket/datasets"])
def test_a_mirror_that_is_neither_url_nor_folder_is_one_line(value, data_folder, monkeypatch):
    monkeypatch.setenv(MIRROR_VARIABLE, value)
    with pytest.raises(ConfigError, match=rf"^COLABMAGIC_DATA_MIRROR must be an http\(s\) URL or a folder, "
                                          rf"not '{value}'$"):
        load_dataset("mnist", progress=False)
    assert not data_folder.exists()


def test_a_run_tells_the_refused_file_once(server, data_folder, monkeypatch, workdir):
    from colabmagic.train import train
    from colabmagic.train.notes import TrainingNote

    files = mnist_files()
    server.files.update({f"mirror/mnist/{file}": data for file, data in files.items()})
    server.files["mirror/mnist/train-images-idx3-ubyte.gz"] = mnist_files()["train-images-idx3-ubyte.gz"]  # other pixels
    server.files.update(files)
    monkeypatch.setenv(MIRROR_VARIABLE, server.url + "mirror")
    ds = load_dataset("mnist", base_url=server.url, checksums=md5s(files), progress=False)
    with pytest.warns(TrainingNote) as told:
        result = train("mlp", ds, epochs=1, seed=0)
    refused = [str(w.message) for w in told if "Checksum mismatch" in str(w.message)]
    assert refused == list(ds.notes) and result.extra["notes"].count(ds.notes[0]) == 1
