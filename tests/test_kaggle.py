"""%kaggle_get against a fake Kaggle API on 127.0.0.1 that the real, unmodified kagglehub talks to."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from colabmagic import secrets
from colabmagic.errors import ColabMagicError, ConfigError
from colabmagic.fetch import kaggle
from colabmagic.fetch.kaggle import KaggleRef, find_credentials, kaggle_get, parse_ref
from conftest import run_ok
from fake_kaggle import KEY, TOKEN, USERNAME, FakeKaggle, csv_bytes, fake_files, make_evil_zip

pytest.importorskip("kagglehub")

IRIS = {"train.csv": csv_bytes(60), "test.csv": csv_bytes(12), "images/a.bin": b"\x00" * 300,
        "images/b.bin": b"\x01" * 200}
CLEAN_ENV = ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME",
             "NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
             "KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_DATA_PROXY_URL", "COLAB_RELEASE_TAG", "TBE_RUNTIME_ADDR")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A started fake Kaggle, this test's own HOME and kagglehub cache, no credentials anywhere."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "cache"))
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    import kagglehub.config

    monkeypatch.setattr(kagglehub.config, "_kaggle_credentials", None)
    # kagglehub fixes ~/.kaggle when it is first imported: point it at this test's HOME
    monkeypatch.setattr(kagglehub.config, "DEFAULT_KAGGLE_CREDENTIALS_FOLDER", str(home / ".kaggle"))
    server = FakeKaggle(tmp_path / "server")
    server.add_dataset("alice/iris", IRIS, version=2)
    server.start()
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def token(fake, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    return TOKEN


def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- references -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("alice/iris", KaggleRef("dataset", "iris", "alice")),
    ("alice/iris/versions/3", KaggleRef("dataset", "iris", "alice", 3)),
    ("https://www.kaggle.com/datasets/alice/iris", KaggleRef("dataset", "iris", "alice")),
    ("https://www.kaggle.com/datasets/alice/iris/versions/4", KaggleRef("dataset", "iris", "alice", 4)),
    ("https://www.kaggle.com/datasets/alice/iris/data?select=train.csv",
     KaggleRef("dataset", "iris", "alice", None, "train.csv")),
    ("kaggle.com/alice/iris", KaggleRef("dataset", "iris", "alice")),
    ("https://www.kaggle.com/competitions/titanic", KaggleRef("competition", "titanic")),
    ("https://www.kaggle.com/competitions/titanic/data", KaggleRef("competition", "titanic")),
    ("https://www.kaggle.com/c/digit-recognizer/overview", KaggleRef("competition", "digit-recognizer")),
])
def test_every_reference_form_people_paste(text, expected):
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text, message", [
    ("iris", "use -c NAME"),
    ("alice/iris/3", "owner/dataset"),
    ("https://example.com/datasets/a/b", "not a kaggle.com address"),
    ("https://www.kaggle.com/code/alice/notebook", "not code"),
    ("alice/../etc", "not a Kaggle dataset"),
])
def test_bad_references_say_what_is_expected(text, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_ref(text)


# --- a dataset end to end ---------------------------------------------------------------------

def test_dataset_arrives_unpacked_in_kagglehubs_cache(shell, fake, token, tmp_path, capsys):
    result = run_ok(shell, "%kaggle_get alice/iris -o")
    expected = cache(tmp_path) / "datasets" / "alice" / "iris" / "versions" / "2"
    assert result.path == expected and str(result) == str(expected) and os.fspath(result) == str(expected)
    assert files_under(expected) == IRIS
    assert result.version == 2 and not result.cached
    assert sorted(result.files) == sorted((name, len(data)) for name, data in IRIS.items())
    shown = capsys.readouterr()
    assert "alice/iris/versions/2: 4 files" in shown.out and "images/" in shown.out and "train.csv" in shown.out
    assert "B/s" in shown.err  # the tqdm bar: bytes and speed
    # the real API calls, authenticated; the blob (another host) got no credentials
    assert [c.auth for c in fake.calls("GetDataset") + fake.calls("DownloadDataset")] == ["token", "token"]
    assert fake.calls("DownloadDataset")[0].body == {"ownerSlug": "alice", "datasetSlug": "iris",
                                                     "datasetVersionNumber": 2, "raw": False} or \
        fake.calls("DownloadDataset")[0].body["datasetVersionNumber"] == 2
    assert [b.auth for b in fake.blob_requests()] == ["none"]
    # no archive, .part or staging folder left behind
    assert sorted(p.name for p in expected.parent.parent.iterdir()) == ["2.complete", "versions"]


def test_cached_the_second_time_and_plain_kagglehub_agrees(shell, fake, token):
    first = run_ok(shell, "%kaggle_get alice/iris -q -o")
    again = run_ok(shell, "%kaggle_get https://www.kaggle.com/datasets/alice/iris -q -o")
    assert again.cached and again.path == first.path and again.downloaded_bytes == 0
    assert len(fake.calls("DownloadDataset")) == 1
    import kagglehub

    assert Path(kagglehub.dataset_download("alice/iris")) == first.path
    assert len(fake.calls("DownloadDataset")) == 1
    forced = run_ok(shell, "%kaggle_get alice/iris --force -q -o")
    assert not forced.cached and len(fake.calls("DownloadDataset")) == 2
    assert files_under(forced.path) == IRIS


def test_the_path_expands_in_the_next_magic_line(shell, fake, token):
    """`%kaggle_get owner/ds -v data` then `%train cnn {data}/train.csv --target label`: IPython
    expands {data} with str(), which is the local folder."""
    run_ok(shell, "%kaggle_get alice/iris -q -v data")
    line = shell.var_expand("%train cnn {data}/train.csv --target label")
    csv = Path(line.split()[2])
    assert csv == shell.user_ns["data"].path / "train.csv" and csv.read_bytes() == IRIS["train.csv"]


def test_versioned_reference_skips_the_version_lookup(shell, fake, token):
    fake.add_dataset("alice/iris", {"train.csv": b"old\n"}, version=1)
    result = run_ok(shell, "%kaggle_get alice/iris/versions/1 -q -o")
    assert files_under(result.path) == {"train.csv": b"old\n"} and result.version == 1
    assert fake.calls("GetDataset") == []


def test_one_file_and_a_file_kaggle_serves_zipped(shell, fake, token, tmp_path):
    fake.add_dataset("alice/big", {"big.csv": csv_bytes(500), "small.csv": b"a\n1\n"}, compressed={"big.csv"})
    small = run_ok(shell, "%kaggle_get alice/big --file small.csv -q -o")
    assert small.path.read_bytes() == b"a\n1\n" and small.path.name == "small.csv"
    big = run_ok(shell, "%kaggle_get alice/big --file big.csv -q -o")
    assert big.path.read_bytes() == csv_bytes(500) and big.path.name == "big.csv"
    assert fake.blob_requests()[-1].path.endswith("/big.csv.zip")
    assert sorted(p.name for p in big.path.parent.iterdir()) == ["big.csv", "small.csv"]
    kept = run_ok(shell, "%kaggle_get alice/big --file big.csv --no-unzip --force -q -o")
    assert kept.path.name == "big.csv.zip" and zipfile.ZipFile(kept.path).namelist() == ["big.csv"]
    big.path.unlink()
    again = run_ok(shell, "%kaggle_get alice/big --file big.csv --no-unzip -q -o")
    assert again.cached and again.path == kept.path


def test_no_unzip_keeps_the_archive_and_path_copies_it(shell, fake, token, tmp_path):
    result = run_ok(shell, "%kaggle_get alice/iris --no-unzip --path data -q -o")
    assert result.path == tmp_path / "data" / "iris-v2.zip"
    assert sorted(zipfile.ZipFile(result.path).namelist()) == sorted(IRIS)
    assert result.cache_path == cache(tmp_path) / "datasets" / "alice" / "iris" / "iris-v2.zip"
    assert not (cache(tmp_path) / "datasets" / "alice" / "iris" / "2.complete").exists()


# --- --path -----------------------------------------------------------------------------------

def test_path_links_the_files_into_a_folder_and_shows_a_tree(shell, fake, token, tmp_path, capsys):
    result = run_ok(shell, "%kaggle_get alice/iris --path data -o")
    data = tmp_path / "data"
    assert result.path == data and files_under(data) == IRIS and result.placed == "linked"
    assert (data / "train.csv").stat().st_ino == (result.cache_path / "train.csv").stat().st_ino
    out = capsys.readouterr().out
    assert f"{data}/" in out and "├── images/" in out and "2 files" in out and "train.csv" in out
    html = result._repr_html_()
    assert "train.csv" in html and "images/" in html
    again = run_ok(shell, "%kaggle_get alice/iris --path data -q -o")  # identical files: left alone
    assert again.cached and files_under(data) == IRIS


def test_path_refuses_to_overwrite_a_different_file_without_force(shell, fake, token, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("my own edits\n")
    message = usage_error(shell, "%kaggle_get alice/iris --path data -q")
    assert "train.csv already exists" in message and "--force" in message
    assert (data / "train.csv").read_text() == "my own edits\n"
    assert sorted(p.name for p in data.iterdir()) == ["train.csv"]  # nothing else placed either
    run_ok(shell, "%kaggle_get alice/iris --path data --force -q")
    assert files_under(data) == IRIS


def test_path_keeps_the_users_other_files_even_with_force(shell, fake, token, tmp_path):
    """--path adds the dataset's files to the folder: what else is in it (or in a subfolder of the
    same name as the dataset's) is never removed, whether the files arrive fresh or from the cache."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "my_notes.txt").write_text("mine")
    (data / "images" / "my_drawing.png").write_bytes(b"mine too")
    for line in ("%kaggle_get alice/iris --path data -q", "%kaggle_get alice/iris --path data --force -q"):
        run_ok(shell, line)
        assert (data / "my_notes.txt").read_text() == "mine"
        assert (data / "images" / "my_drawing.png").read_bytes() == b"mine too"
        placed = files_under(data)
        assert {name: placed[name] for name in IRIS} == IRIS


def test_path_never_writes_through_a_symlink_that_leads_outside(shell, fake, token, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "images").symlink_to(outside)
    message = usage_error(shell, "%kaggle_get alice/iris --path data -q")
    assert "leads outside" in message
    assert list(outside.iterdir()) == [] and not (data / "train.csv").exists()


# --- credentials ------------------------------------------------------------------------------

def test_token_from_the_secrets_store_is_used_for_the_call_only(shell, fake, capsys):
    secrets.set("KAGGLE_API_TOKEN", TOKEN)
    result = run_ok(shell, "%kaggle_get alice/iris -q -o")
    assert files_under(result.path) == IRIS
    assert {c.auth for c in fake.log if c.method == "POST"} == {"token"}
    assert "KAGGLE_API_TOKEN" not in os.environ
    creds = find_credentials()
    assert "colabmagic secrets" in creds.source and TOKEN not in repr(creds)
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err


def test_legacy_kaggle_json_readable_by_others_warns_with_chmod(shell, fake, tmp_path, capsys):
    file = Path(os.environ["HOME"]) / ".kaggle" / "kaggle.json"
    file.parent.mkdir()
    file.write_text(json.dumps({"username": USERNAME, "key": KEY}))
    file.chmod(0o644)
    result = run_ok(shell, "%kaggle_get alice/iris -q -o")
    assert {c.auth for c in fake.log if c.method == "POST"} == {"basic"}
    out = capsys.readouterr()
    assert f"chmod 600 {file}" in out.err and result.warnings == [out.err.strip()]
    assert KEY not in out.out + out.err
    file.chmod(0o600)
    run_ok(shell, "%kaggle_get alice/iris -q")
    assert "chmod" not in capsys.readouterr().err


def test_username_and_key_environment_variables(shell, fake, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    run_ok(shell, "%kaggle_get alice/iris -q")
    assert {c.auth for c in fake.log if c.method == "POST"} == {"basic"}


def test_missing_credentials_say_what_to_do_step_by_step(shell, fake):
    message = usage_error(shell, "%kaggle_get alice/iris -q")
    assert "credentials not found" in message and "https://www.kaggle.com/settings/api" in message
    assert "%secrets set KAGGLE_API_TOKEN" in message and "chmod 600 ~/.kaggle/kaggle.json" in message
    assert "\n" not in message
    message = usage_error(shell, "%kaggle_get -c titanic -q")  # competitions: refused before any call
    assert "credentials not found" in message
    assert fake.calls("DownloadDataFiles") == []


def test_a_rejected_token_is_401_and_never_printed(shell, fake, monkeypatch, capsys):
    bad = "kgat_WRONG_but_secret_value"
    monkeypatch.setenv("KAGGLE_API_TOKEN", bad)
    message = usage_error(shell, "%kaggle_get alice/iris -q")
    assert "401" in message and "KAGGLE_API_TOKEN environment variable" in message
    assert "https://www.kaggle.com/settings/api" in message and "\n" not in message
    out = capsys.readouterr()
    assert bad not in message + out.out + out.err
    assert {c.auth for c in fake.log} == {"bad"}


# --- competitions -----------------------------------------------------------------------------

def test_competition_files_with_the_rules_accepted(shell, fake, token, tmp_path):
    fake.add_competition("titanic", {"train.csv": csv_bytes(30), "test.csv": csv_bytes(5)})
    result = run_ok(shell, "%kaggle_get -c titanic -q -o")
    assert result.path == cache(tmp_path) / "competitions" / "titanic"
    assert files_under(result.path) == {"train.csv": csv_bytes(30), "test.csv": csv_bytes(5)}
    one = run_ok(shell, "%kaggle_get https://www.kaggle.com/c/titanic --file test.csv --force -q -o")
    assert one.path.read_bytes() == csv_bytes(5)
    assert fake.calls("DownloadDataFile")[0].body == {"competitionName": "titanic", "fileName": "test.csv"}


def test_competition_rules_not_accepted_is_403_with_the_rules_url(shell, fake, token):
    fake.add_competition("secret-comp", {"train.csv": b"x\n"}, accepted=False)
    message = usage_error(shell, "%kaggle_get -c secret-comp -q")
    assert "403" in message and "https://www.kaggle.com/competitions/secret-comp/rules" in message
    assert "\n" not in message


def test_missing_dataset_and_competition_are_404_with_a_search_url(shell, fake, token):
    message = usage_error(shell, "%kaggle_get alice/no-such-data -q")
    assert "404" in message and "https://www.kaggle.com/datasets?search=no-such-data" in message
    message = usage_error(shell, "%kaggle_get -c no-such-comp -q")
    assert "https://www.kaggle.com/competitions?search=no-such-comp" in message
    message = usage_error(shell, "%kaggle_get alice/iris --file nope.csv -q")
    assert "no file 'nope.csv'" in message and "/datasets/alice/iris/data" in message


def test_network_unreachable_mentions_the_proxy_variables(shell, fake, token, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed}")
    message = usage_error(shell, "%kaggle_get alice/iris -q")
    assert "Cannot reach Kaggle" in message and "HTTPS_PROXY" in message and "\n" not in message


def test_magic_bad_lines(shell, fake):
    assert "needs one of" in usage_error(shell, "%kaggle_get")
    assert "needs one of" in usage_error(shell, "%kaggle_get alice/iris -c titanic")
    assert "--file" in usage_error(shell, "%kaggle_get alice/iris --file ../../etc/passwd")


# --- safe extraction --------------------------------------------------------------------------

def test_an_archive_with_escaping_members_is_refused_and_nothing_lands_outside(shell, fake, token, tmp_path):
    fake.add_dataset("mallory/evil", {}, bundle=make_evil_zip(tmp_path / "evil.zip"))
    message = usage_error(shell, "%kaggle_get mallory/evil --path data -q")
    assert "Refusing to extract" in message
    assert not list(tmp_path.rglob("evil.txt")) and not Path("/abs.txt").exists()
    final = cache(tmp_path) / "datasets" / "mallory" / "evil"
    assert sorted(p.name for p in final.rglob("*")) == []  or not any(final.rglob("*.csv"))
    assert not (final / "versions" / "1").exists() and not (final / "1.complete").exists()
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []


@pytest.mark.parametrize("member", ["../evil.txt", "/abs.txt", "link"])
def test_each_escaping_member_alone_is_refused(fake, token, tmp_path, member):
    with zipfile.ZipFile(tmp_path / "one.zip", "w") as zf:
        info = zipfile.ZipInfo(member)
        if member == "link":
            info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    fake.add_dataset("mallory/one", {}, bundle=tmp_path / "one.zip")
    with pytest.raises(ColabMagicError, match="Refusing to extract"):
        kaggle_get("mallory/one", progress=False)
    assert not (tmp_path / "evil.txt").exists() and not Path("/abs.txt").exists()
    assert not (cache(tmp_path) / "datasets" / "mallory" / "one" / "versions" / "1").exists()


# --- broken transfers -------------------------------------------------------------------------

BIG = fake_files({"blob.bin": 4 << 20}, seed=1)


def test_a_transfer_that_breaks_off_resumes_without_resending(fake, token, tmp_path):
    fake.add_dataset("alice/big", BIG)
    size = fake.datasets["alice/big"]["versions"][1]["bundle"].stat().st_size
    half = size // 2
    fake.drop_after, fake.drops = half, 1
    result = kaggle_get("alice/big", progress=False)
    assert files_under(result.path) == BIG
    first, second = fake.blob_requests()
    assert (first.status, first.range, first.sent) == (200, None, half)
    assert (second.status, second.range, second.sent) == (206, f"bytes={half}-", size - half)
    assert result.downloaded_bytes == size


def test_a_later_run_resumes_the_part_file_with_range(fake, token, tmp_path):
    fake.add_dataset("alice/big", BIG)
    size = fake.datasets["alice/big"]["versions"][1]["bundle"].stat().st_size
    half = size // 2
    fake.drop_after, fake.drops = half, 1
    with pytest.raises(ColabMagicError, match="run the same line again to resume"):
        kaggle_get("alice/big", progress=False, retries=0)
    part = cache(tmp_path) / "datasets" / "alice" / "big" / "versions" / ".1.download.part"
    assert part.stat().st_size == half
    assert not (cache(tmp_path) / "datasets" / "alice" / "big" / "versions" / "1").exists()
    fake.log.clear()
    fake.send_buffer = 1 << 14  # what the closed first answer can have swallowed stays small
    result = kaggle_get("alice/big", progress=False)
    assert files_under(result.path) == BIG
    unranged, ranged = fake.blob_requests()
    assert unranged.range is None and ranged.range == f"bytes={half}-"
    assert (ranged.status, ranged.sent) == (206, size - half)
    assert unranged.sent < half // 4, "the first half was sent again"
    assert result.downloaded_bytes == size - half
    assert not part.exists()


def test_a_server_that_ignores_range_does_not_corrupt_the_file(fake, token, tmp_path):
    fake.add_dataset("alice/big", BIG)
    size = fake.datasets["alice/big"]["versions"][1]["bundle"].stat().st_size
    fake.drop_after, fake.drops = size // 2, 1
    with pytest.raises(ColabMagicError):
        kaggle_get("alice/big", progress=False, retries=0)
    fake.ignore_range = True
    fake.log.clear()
    result = kaggle_get("alice/big", progress=False)
    assert files_under(result.path) == BIG  # spliced bytes would fail here (and the md5 check)
    ranged = [b for b in fake.blob_requests() if b.range]
    assert ranged and ranged[0].status == 200


def test_a_damaged_part_file_fails_the_md5_check_and_is_not_kept(fake, token, tmp_path):
    fake.add_dataset("alice/big", BIG)
    part = cache(tmp_path) / "datasets" / "alice" / "big" / "versions" / ".1.download.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\xff" * 1000)
    with pytest.raises(ColabMagicError, match="damaged"):
        kaggle_get("alice/big", progress=False)
    assert not part.exists() and not (part.parent / "1").exists()
    assert files_under(kaggle_get("alice/big", progress=False).path) == BIG


# --- a full disk ------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """An 8 MB tmpfs as the kagglehub cache (needs root; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(mount / "cache"))
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_path_on_another_file_system_gets_copies_made_whole(fake, token, small_disk, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(small_disk.parent / "cache"))  # the cache off the tmpfs
    result = kaggle_get("alice/iris", path=small_disk / "data", progress=False)
    assert result.placed == "copied" and files_under(small_disk / "data") == IRIS  # no hard link across
    assert sorted(p.relative_to(small_disk / "data").as_posix() for p in (small_disk / "data").rglob("*")
                  if p.is_file()) == sorted(IRIS)  # no temporary file left beside them
    again = kaggle_get("alice/iris", path=small_disk / "data", progress=False)
    assert again.cached and files_under(small_disk / "data") == IRIS


def test_disk_full_is_known_before_writing(fake, token, small_disk):
    fake.add_dataset("alice/huge", fake_files({"x.bin": 12 << 20}))
    with pytest.raises(ColabMagicError, match="Not enough disk space .* KAGGLEHUB_CACHE"):
        kaggle_get("alice/huge", progress=False)
    assert leftovers(small_disk) == []


def test_disk_full_mid_transfer_leaves_nothing(fake, token, small_disk):
    fake.add_dataset("alice/huge", fake_files({"x.bin": 12 << 20}))
    fake.no_length = True  # no Content-Length: the disk fills up while writing
    with pytest.raises(ColabMagicError, match="Disk full"):
        kaggle_get("alice/huge", progress=False)
    assert leftovers(small_disk) == []


def test_disk_full_when_unpacking_leaves_nothing(fake, token, small_disk):
    fake.add_dataset("alice/zeros", {"zeros.bin": bytes(40 << 20)})  # compresses to ~40 KB
    with pytest.raises(ColabMagicError, match="disk space for unpacking"):
        kaggle_get("alice/zeros", progress=False)
    assert leftovers(small_disk) == []


def test_importing_the_magic_does_not_import_kagglehub():
    import sys

    code = "import sys, colabmagic.magics.kaggle, colabmagic.magics.secrets; print('kagglehub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sizes_read_like_people_write_them():
    from colabmagic import units

    assert units.size(1536) == "1.5 KiB" and units.size(10) == "10 B" and units.size(3 << 30) == "3.0 GiB"
    assert units.rate(24_400_000) == "24.4 MB/s" and units.rate(850_000) == "850 kB/s"


def test_without_kagglehub_the_error_is_the_pip_line():
    import sys

    code = ("import sys; sys.modules['kagglehub'] = None\n"
            "from colabmagic.fetch.kaggle import kaggle_get\n"
            "try:\n    kaggle_get('alice/iris')\nexcept Exception as err:\n    print(type(err).__name__, err)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "MissingExtraError kagglehub is not installed: pip install 'colabmagic[data]'"


def test_a_single_file_result_shows_its_path(shell, fake, token, capsys):
    result = run_ok(shell, "%kaggle_get alice/iris --file train.csv -o")
    assert str(result.path) in capsys.readouterr().out and result.files == [(".", len(IRIS["train.csv"]))]


def test_path_accepts_an_identical_copy_made_earlier(shell, fake, token, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_bytes(IRIS["train.csv"])  # same bytes, another inode and mtime
    run_ok(shell, "%kaggle_get alice/iris --path data -q")
    assert files_under(data) == IRIS


def test_a_broken_kaggle_json_is_one_line_without_its_content(shell, fake):
    file = Path(os.environ["HOME"]) / ".kaggle" / "kaggle.json"
    file.parent.mkdir()
    file.write_text('{"key": "' + KEY + '"}')
    file.chmod(0o600)
    message = usage_error(shell, "%kaggle_get alice/iris -q")
    assert "username" in message and KEY not in message and "\n" not in message


def test_help_shows_the_usage(shell, capsys):
    shell.run_cell("%kaggle_get?", store_history=False)
    out = capsys.readouterr().out
    assert "%kaggle_get [-c NAME] [--path DIR] [--file NAME] [--force] [--no-unzip]" in out
    assert "Keep the downloaded archive as it is." in out
