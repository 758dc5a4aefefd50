"""%drive_get: every Drive link form, plain URLs, and gdown's own code path against a local server
that answers like Google Drive (confirm page, folder view, Range/If-Range resume).

gdown sends Drive links to https://drive.google.com (and follows Drive's redirect to
drive.usercontent.google.com) whatever the link's host, so the tests mount a requests transport
adapter on the sessions gdown makes (`gdown.download._get_session`, used by download_folder too)
that answers those hosts from a local http.server. Nothing else of gdown is replaced.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from IPython.core.error import UsageError
from requests.adapters import HTTPAdapter

from colabmagic.errors import ConfigError, DataError, DownloadError, NetworkError
from colabmagic.fetch.gdrive import Downloaded, download, parse

from conftest import run_ok
from test_fetch import PROXY_VARIABLES, LocalServer, closed_port_url

FILE_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345"
BIG_ID = "1BigFileThatNeedsTheVirusScanPage99"
PRIVATE_ID = "1PrivateFileNotSharedWithAnyone0000"
FOLDER_ID = "1FolderIdOfASharedFolderForTests777"
SUB_ID = "1SubFolderIdOfASharedFolderTests888"
NOTE_ID = "1NoteFileInsideTheSharedFolder00001"
DEEP_ID = "1DeepFileInsideTheSubFolder00000002"

SMALL = b"label,pixel0\n1,0\n" * 1000
BIG = bytes(range(256)) * 4096  # 1 MiB: more than one of gdown's 512 KB chunks


class FakeDrive:
    """Answers like drive.google.com / drive.usercontent.google.com: uc?id= (file or virus-scan
    confirm page), the confirm form's download URL (Range with If-Range, exact 206), and
    embeddedfolderview. `requests` records (host+path, query, Range, If-Range)."""

    def __init__(self):
        self.files = {FILE_ID: ("train.csv", SMALL), BIG_ID: ("big.bin", BIG),
                      NOTE_ID: ("note.txt", b"note"), DEEP_ID: ("deep.txt", b"deep")}
        self.folders = {FOLDER_ID: ("dataset", [("file", NOTE_ID), ("folder", SUB_ID)]),
                        SUB_ID: ("sub", [("file", DEEP_ID)])}
        self.requests: list[tuple[str, dict, str | None, str | None]] = []
        self.break_after: list[int] = []  # next responses' body cut after N bytes, one entry each
        self.etag = '"v1"'
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        drive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                host, _, rest = self.path.lstrip("/").partition("/")
                path, _, query = ("/" + rest).partition("?")
                q = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
                drive.requests.append((host + path, q, self.headers.get("Range"), self.headers.get("If-Range")))
                if path == "/uc" and q.get("id") in drive.files:
                    if q["id"] == BIG_ID:  # Drive's redirect, then the "can't scan for viruses" page
                        return self.redirect(f"https://drive.usercontent.google.com/download?id={BIG_ID}&export=download")
                    return self.file(q["id"])
                if path == "/uc" and q.get("id") == PRIVATE_ID:
                    return self.page(403, "<html><body><p class=\"uc-error-subcaption\">Sorry, you can't view or "
                                          "download this file at this time.</p></body></html>")
                if path == "/download" and q.get("id") == BIG_ID:
                    if q.get("confirm") == "t" and q.get("uuid") == "u-123":
                        return self.file(BIG_ID)
                    return self.page(200, CONFIRM_PAGE)
                if path == "/embeddedfolderview" and q.get("id") in drive.folders:
                    name, children = drive.folders[q["id"]]
                    links = "".join(
                        f'<a href="https://drive.google.com/file/d/{cid}/view?usp=drive_web">{drive.files[cid][0]}</a>'
                        if kind == "file" else
                        f'<a href="https://drive.google.com/drive/folders/{cid}">{drive.folders[cid][0]}</a>'
                        for kind, cid in children)
                    return self.page(200, f"<html><head><title>{name}</title></head><body>{links}</body></html>")
                self.page(404, "<html><body>Not found</body></html>")

            def redirect(self, location):
                self.send_response(303)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def page(self, status, text):
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def file(self, file_id):
                name, body = drive.files[file_id]
                start, ranged = 0, self.headers.get("Range")
                if ranged and self.headers.get("If-Range", drive.etag) == drive.etag:
                    start = int(ranged.removeprefix("bytes=").partition("-")[0])
                self.send_response(206 if start else 200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Disposition", f'attachment; filename="{name}"')
                self.send_header("ETag", drive.etag)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = drive.break_after.pop(0) if drive.break_after else None
                self.wfile.write(body[start:] if cut is None else body[start:start + cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

            def log_message(self, *args):
                pass

        return Handler


CONFIRM_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<div class="uc-main"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="https://drive.usercontent.google.com/download" method="get"><input type="submit" id="uc-download-link" value="Download anyway"/><input type="hidden" name="id" value="1BigFileThatNeedsTheVirusScanPage99"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u-123"></form></div></body></html>"""


class LocalDriveAdapter(HTTPAdapter):
    """Sends https://<drive host>/PATH to http://127.0.0.1:PORT/<drive host>/PATH."""

    def __init__(self, port: int):
        super().__init__()
        self.port = port

    def send(self, request, **kwargs):
        parts = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit(("http", f"127.0.0.1:{self.port}", f"/{parts.hostname}{parts.path}",
                                               parts.query, ""))
        return super().send(request, **kwargs)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def drive(monkeypatch):
    """A FakeDrive that every session gdown opens talks to (and only for Drive's hosts)."""
    module = importlib.import_module("gdown.download")
    original = module._get_session
    with FakeDrive() as fake:
        def session(**kwargs):
            sess, cookies = original(**kwargs)
            for host in ("drive.google.com", "docs.google.com", "drive.usercontent.google.com"):
                sess.mount(f"https://{host}", LocalDriveAdapter(fake.port))
            return sess, cookies

        monkeypatch.setattr(module, "_get_session", session)
        monkeypatch.setattr(importlib.import_module("gdown.download_folder"), "_get_session", session)
        yield fake


# --- link parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize("link, kind", [
    (f"https://drive.google.com/file/d/{FILE_ID}/view?usp=sharing", "file"),
    (f"https://drive.google.com/file/d/{FILE_ID}/view", "file"),
    (f"https://drive.google.com/file/d/{FILE_ID}", "file"),
    (f"https://drive.google.com/file/u/1/d/{FILE_ID}/edit", "file"),
    (f"drive.google.com/file/d/{FILE_ID}/view?usp=drive_link", "file"),
    (f"https://drive.google.com/open?id={FILE_ID}", "file"),
    (f"https://drive.google.com/uc?id={FILE_ID}", "file"),
    (f"https://drive.google.com/uc?export=download&id={FILE_ID}", "file"),
    (f"https://docs.google.com/uc?export=download&id={FILE_ID}", "file"),
    (f"https://drive.usercontent.google.com/download?id={FILE_ID}&export=download", "file"),
    (f"https://docs.google.com/spreadsheets/d/{FILE_ID}/edit#gid=0", "file"),
    (f"https://drive.google.com/drive/folders/{FILE_ID}?usp=sharing", "folder"),
    (f"https://drive.google.com/drive/u/0/folders/{FILE_ID}", "folder"),
    (f"  '{FILE_ID}'  ", "file"),
    (FILE_ID, "file"),
])
def test_every_link_form_gives_the_id(link, kind):
    assert parse(link) == type(parse(FILE_ID))(kind, id=FILE_ID)


def test_folder_flag_marks_bare_ids_and_open_links():
    assert parse(FILE_ID, folder=True).kind == "folder"
    assert parse(f"https://drive.google.com/open?id={FILE_ID}", folder=True).kind == "folder"


def test_plain_urls_and_nonsense():
    assert parse("https://example.com/data/train%20set.zip?x=1").kind == "url"
    with pytest.raises(ConfigError, match="not a Google Drive link"):
        parse("not a link")
    with pytest.raises(ConfigError, match="ftp://x"):
        parse("ftp://x/y")
    with pytest.raises(ConfigError, match="Cannot find a file or folder ID"):
        parse("https://drive.google.com/drive/my-drive")
    with pytest.raises(ConfigError, match="--folder works with Google Drive folders only"):
        parse("https://example.com/a.zip", folder=True)


# --- gdown's path against the fake Drive ------------------------------------------------------

def test_small_file_by_share_link(drive, workdir):
    result = download(f"https://drive.google.com/file/d/{FILE_ID}/view?usp=sharing", progress=False)
    assert result.path == workdir / "train.csv"
    assert result.path.read_bytes() == SMALL
    assert str(result) == str(workdir / "train.csv")
    assert sorted(p.name for p in workdir.iterdir()) == ["train.csv"]  # no staging folder left
    assert drive.requests[-1][0] == "drive.google.com/uc"


def test_virus_scan_confirm_page_is_followed(drive, workdir):
    digest = hashlib.sha256(BIG).hexdigest()
    result = download(BIG_ID, "data/", sha256=digest, progress=False)
    assert result.path == workdir / "data" / "big.bin"
    assert result.path.read_bytes() == BIG
    hosts = [(r[0], r[1].get("confirm")) for r in drive.requests]
    assert hosts == [("drive.google.com/uc", None), ("drive.usercontent.google.com/download", None),
                     ("drive.usercontent.google.com/download", "t")]


def test_dropped_connection_resumes_with_range_and_if_range(drive, workdir):
    drive.break_after = [700_000]  # gdown keeps whole 512 KiB chunks: 524,288 bytes reach the disk
    with pytest.raises(NetworkError, match="run the same line again to resume"):
        download(BIG_ID, "big.bin", retries=0, progress=False)
    assert not (workdir / "big.bin").exists()
    parts = list((workdir / f".drive_get-{BIG_ID}").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 524_288
    drive.requests.clear()
    result = download(BIG_ID, "big.bin", sha256=hashlib.sha256(BIG).hexdigest(), progress=False)
    assert result.path.read_bytes() == BIG
    assert drive.requests[-1][2:] == ("bytes=524288-", '"v1"')  # Range + If-Range, answered 206
    assert sorted(p.name for p in workdir.iterdir()) == ["big.bin"]


def test_drop_within_one_call_is_retried(drive, workdir):
    drive.break_after = [700_000]  # the file's first response; gdown reconnects by itself
    result = download(BIG_ID, progress=False)
    assert result.path.read_bytes() == BIG
    assert ("bytes=524288-", '"v1"') in [r[2:] for r in drive.requests]


def test_changed_file_starts_over(drive, workdir):
    drive.break_after = [700_000]
    with pytest.raises(NetworkError):
        download(BIG_ID, retries=0, progress=False)
    drive.etag = '"v2"'  # If-Range no longer matches: the server sends the whole new file
    result = download(BIG_ID, progress=False)
    assert result.path.read_bytes() == BIG


def test_checksum_mismatch_leaves_nothing(drive, workdir):
    with pytest.raises(DownloadError, match="Checksum mismatch for train.csv") as info:
        download(FILE_ID, sha256="0" * 64, progress=False)
    assert not isinstance(info.value, NetworkError)
    assert list(workdir.iterdir()) == []


def test_existing_file_with_right_checksum_is_kept(drive, workdir):
    (workdir / "train.csv").write_bytes(SMALL)
    result = download(FILE_ID, "train.csv", sha256=hashlib.sha256(SMALL).hexdigest(), progress=False)
    assert result.reused and drive.requests == []


def test_private_file_is_one_clear_line(drive, workdir):
    with pytest.raises(DownloadError, match="Anyone with the link") as info:
        download(PRIVATE_ID, progress=False)
    assert "\n" not in str(info.value)
    assert list(workdir.iterdir()) == []


def test_folder_with_subfolder(drive, workdir):
    result = download(f"https://drive.google.com/drive/folders/{FOLDER_ID}?usp=sharing", progress=False)
    assert result.path == workdir / "dataset"
    assert (workdir / "dataset" / "note.txt").read_bytes() == b"note"
    assert (workdir / "dataset" / "sub" / "deep.txt").read_bytes() == b"deep"
    assert sorted(p.name for p in workdir.iterdir()) == ["dataset"]
    assert result.bytes == 8 and len(result.files) == 2
    with pytest.raises(ConfigError, match="does not apply to a folder"):
        download(FOLDER_ID, folder=True, sha256="0" * 64)


def test_unreachable_drive_is_a_network_error(monkeypatch, workdir):
    module = importlib.import_module("gdown.download")
    original = module._get_session

    def session(**kwargs):
        sess, cookies = original(**kwargs)
        sess.mount("https://drive.google.com", LocalDriveAdapter(1))  # port 1: refused
        return sess, cookies

    monkeypatch.setattr(module, "_get_session", session)
    with pytest.raises(NetworkError, match="Cannot reach Google Drive.*HTTPS_PROXY"):
        download(FILE_ID, progress=False, retries=0)


@pytest.fixture
def drive_unreachable(monkeypatch):
    """Every Drive host answers from a 127.0.0.1 port where nothing listens: connecting is refused."""
    module = importlib.import_module("gdown.download")
    original = module._get_session
    port = int(closed_port_url().rsplit(":", 1)[1].strip("/"))

    def session(**kwargs):
        sess, cookies = original(**kwargs)
        for host in ("drive.google.com", "docs.google.com", "drive.usercontent.google.com"):
            sess.mount(f"https://{host}", LocalDriveAdapter(port))
        return sess, cookies

    monkeypatch.setattr(module, "_get_session", session)
    monkeypatch.setattr(importlib.import_module("gdown.download_folder"), "_get_session", session)
    return port


def test_offline_with_the_magics_default_retries_says_cannot_reach(shell, drive_unreachable, workdir):
    """gdown retries, then wraps the ConnectionError in its DownloadError: still not a 'broke off'."""
    result = shell.run_cell(f"%drive_get {FILE_ID} -q", store_history=False)
    message = str(result.error_in_exec)
    assert type(result.error_in_exec) is UsageError and "\n" not in message
    assert message.startswith("Cannot reach Google Drive (") and "HTTPS_PROXY" in message
    assert "broke off" not in message and "resume" not in message
    assert list(workdir.iterdir()) == []  # nothing received, nothing kept


def test_offline_folder_listing_says_cannot_reach(drive_unreachable, workdir):
    with pytest.raises(NetworkError, match=r"^Cannot reach Google Drive \(.*HTTPS_PROXY"):
        download(FOLDER_ID, folder=True, progress=False)
    assert list(workdir.iterdir()) == []


def test_a_proxy_that_does_not_answer_is_named(drive_unreachable, workdir, monkeypatch):
    proxy = closed_port_url().rstrip("/")
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(NetworkError, match=rf"^Cannot reach Google Drive: the proxy {proxy} did not answer; "
                                           "check HTTPS_PROXY"):
        download(FILE_ID, progress=False)


# --- plain URLs through fetch/_http.py ------------------------------------------------------

def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_plain_url_resumes_after_a_dropped_connection(workdir):
    with LocalServer() as server:
        server.files["d/train.csv"] = SMALL
        server.break_after = 5000
        with pytest.raises(NetworkError, match="run the same line again to resume"):
            download(server.url + "d/train.csv", progress=False)
        result = download(server.url + "d/train.csv", sha256=hashlib.sha256(SMALL).hexdigest(), progress=False)
        assert result.path == workdir / "train.csv" and result.path.read_bytes() == SMALL
        assert server.requests[-1] == ("d/train.csv", "bytes=5000-")


def test_plain_url_checksum_mismatch_leaves_no_file(workdir):
    with LocalServer() as server:
        server.files["a.bin"] = b"x" * 1000
        with pytest.raises(DownloadError, match="Checksum mismatch"):
            download(server.url + "a.bin", sha256="0" * 64, progress=False)
    assert list(workdir.iterdir()) == []


def test_unzip_extracts_safely_next_to_the_archive(workdir):
    with LocalServer() as server:
        server.files["data.zip"] = zipped({"train.csv": b"a", "test.csv": b"b"})
        server.files["one.zip"] = zipped({"one/x.txt": b"x"})
        server.files["evil.zip"] = zipped({"ok.txt": b"ok", "../evil.txt": b"evil"})
        assert download(server.url + "data.zip", unzip=True, progress=False).path == workdir / "data"
        assert (workdir / "data" / "train.csv").read_bytes() == b"a"
        assert download(server.url + "one.zip", unzip=True, progress=False).path == workdir / "one"
        assert (workdir / "one" / "x.txt").read_bytes() == b"x"
        with pytest.raises(Exception, match="Refusing to extract"):
            download(server.url + "evil.zip", unzip=True, progress=False)
    assert not (workdir.parent / "evil.txt").exists()


# --- the magic --------------------------------------------------------------------------------

def test_magic_downloads_and_returns_the_path(shell, drive, workdir, capsys):
    path = run_ok(shell, f"%drive_get https://drive.google.com/file/d/{FILE_ID}/view?usp=sharing -O data/ -q -o")
    assert isinstance(path, Downloaded) and f"{path}" == str(workdir / "data" / "train.csv")
    assert capsys.readouterr().err == ""  # -q: no progress bar either
    run_ok(shell, f"%drive_get {BIG_ID} -O data/")
    captured = capsys.readouterr()
    assert "1.0 MiB/1.0 MiB" in captured.err  # the bar: bytes done / total, as units.size writes them
    assert "Drive file" in captured.out and "big.bin" in captured.out
    run_ok(shell, f"%drive_get {FILE_ID} -O data/train.csv -v got")
    assert shell.user_ns["got"].reused
    assert "already here" in capsys.readouterr().out
    assert run_ok(shell, "import os; os.path.getsize(got)") == len(SMALL)


@pytest.mark.parametrize("line, message", [
    ("%drive_get nonsense", "not a Google Drive link"),
    (f"%drive_get {FILE_ID} --sha256 abc", "--sha256 needs 64 hex digits"),
    (f"%drive_get {PRIVATE_ID}", "Anyone with the link"),
])
def test_magic_errors_are_one_line(shell, drive, workdir, line, message):
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert message in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert list(workdir.iterdir()) == []


def test_requests_never_leave_for_the_real_drive(drive):
    """Guard for the tests themselves: the adapter answers Drive's hosts, the rest is untouched."""
    module = importlib.import_module("gdown.download")
    sess, _ = module._get_session(proxy=None, use_cookies=False, user_agent="t", cookies_file=None)
    assert isinstance(sess.get_adapter("https://drive.google.com/uc"), LocalDriveAdapter)
    assert not isinstance(sess.get_adapter("https://example.com/"), LocalDriveAdapter)
    assert isinstance(sess, requests.Session)


def test_without_gdown_the_pip_line(shell, workdir, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "gdown", None)  # as if colabmagic[data] were not installed
    result = shell.run_cell(f"%drive_get {FILE_ID}", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "pip install 'colabmagic[data]'" in str(result.error_in_exec)


def test_magic_unzip_then_use_the_path_in_the_next_line(shell, workdir):
    with LocalServer() as server:
        server.files["data.zip"] = zipped({"train.csv": b"label,x\n1,2\n"})
        run_ok(shell, f"%drive_get {server.url}data.zip --unzip -q -v path")
    assert str(shell.user_ns["path"]) == str(workdir / "data")
    assert shell.user_ns["path"].archive == workdir / "data.zip"
    assert run_ok(shell, "open(f'{path}/train.csv').read()") == "label,x\n1,2\n"


def test_magic_unzip_keeps_an_existing_folder_of_the_same_name(shell, workdir):
    """The archive's folder (or the folder named after it) is the user's own: it stays as it is."""
    (workdir / "data").mkdir()
    (workdir / "data" / "my_notes.txt").write_text("mine")
    with LocalServer() as server:
        server.files["data.zip"] = zipped({"data/train.csv": b"label,x\n1,2\n"})
        server.files["flat/data.zip"] = zipped({"train.csv": b"a", "test.csv": b"b"})
        for url in (server.url + "data.zip", server.url + "flat/data.zip"):
            result = shell.run_cell(f"%drive_get {url} --unzip -q", store_history=False)
            assert type(result.error_in_exec) is UsageError
            message = str(result.error_in_exec)
            assert message.startswith("data/ already exists (") and "my_notes.txt is not in data.zip" in message
            assert message.endswith("remove it, or use -O another/ to put data.zip and what it holds there")
            assert "\n" not in message
            assert sorted(p.name for p in (workdir / "data").iterdir()) == ["my_notes.txt"]
            assert (workdir / "data" / "my_notes.txt").read_text() == "mine"
        run_ok(shell, f"%drive_get {server.url}data.zip --unzip -q -O another/ -v path")
    assert str(shell.user_ns["path"]) == str(workdir / "another" / "data")
    assert (workdir / "another" / "data" / "train.csv").read_bytes() == b"label,x\n1,2\n"


@pytest.mark.parametrize("members", [{"data/train.csv": b"a", "data/sub/test.csv": b"b"},
                                     {"train.csv": b"a", "sub/test.csv": b"b"}], ids=["one-folder", "flat"])
def test_magic_unzip_again_is_idempotent(shell, workdir, members):
    with LocalServer() as server:
        server.files["data.zip"] = zipped(members)
        line = f"%drive_get {server.url}data.zip --unzip -q -v path"
        run_ok(shell, line)
        run_ok(shell, line)  # the same line again: the folder is the archive's own, kept
        (workdir / "data" / "sub" / "test.csv").unlink()
        run_ok(shell, line)  # and a file deleted from it comes back
    assert (workdir / "data" / "train.csv").read_bytes() == b"a"
    assert (workdir / "data" / "sub" / "test.csv").read_bytes() == b"b"
    assert sorted(p.name for p in workdir.iterdir()) == ["data", "data.zip"]


# --- hostile archives: each one line, nothing written ----------------------------------------

def zeros_zip(path: Path, size: int) -> None:
    """A real zip of SIZE zero bytes (deflate makes ~1000:1 of zeros), written in 1 MiB pieces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.bin", "w", force_zip64=True) as out:
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    zeros_zip(path, (1 << 30) + (64 << 20))  # 1.06 GiB from ~1 MB
    return path.read_bytes()


def refused(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message and len(message) < 400, message
    return message


def test_a_zip_bomb_is_refused_before_a_byte_is_unpacked(shell, workdir, bomb):
    with LocalServer() as server:
        server.files["bomb.zip"] = bomb
        message = refused(shell, f"%drive_get {server.url}bomb.zip --unzip -q")
    assert "zip bomb" in message and "1.1 GiB" in message
    assert sorted(p.name for p in workdir.iterdir()) == ["bomb.zip"]  # the download stays; nothing unpacked


def test_an_archive_bigger_than_the_free_space_is_refused(shell, tmp_path, monkeypatch):
    """On a 64 MiB disk a 100 MiB zip of zeros (not a bomb: under 1 GiB) ended in a raw
    OSError: [Errno 28] traceback, half extracted."""
    from test_train_health import small_tmpfs

    for disk in small_tmpfs(tmp_path, "small", "size=64m"):
        archive = tmp_path / "zeros.zip"
        zeros_zip(archive, 100 << 20)
        monkeypatch.chdir(disk)
        with LocalServer() as server:
            server.files["zeros.zip"] = archive.read_bytes()
            message = refused(shell, f"%drive_get {server.url}zeros.zip --unzip -q")
        assert message.startswith("Not enough disk space to extract zeros.zip: it needs 100.0 MiB")
        assert sorted(p.name for p in disk.iterdir()) == ["zeros.zip"]


@pytest.mark.parametrize("members, words", [
    ({"a": b"file", "a/b": b"inside the file"}, "both a file 'a' and 'a/b'"),
    ({"/".join(["d"] * 1200) + "/deep.txt": b"x"}, "nested deeper than 64"),
    ({"n" * 300 + ".txt": b"x"}, "longer than 255 bytes"),
], ids=["file-and-folder", "1200-deep", "300-character-name"])
def test_archives_that_cannot_be_unpacked_are_one_line(shell, workdir, members, words):
    with LocalServer() as server:
        server.files["odd.zip"] = zipped(members)
        message = refused(shell, f"%drive_get {server.url}odd.zip --unzip -q")
    assert words in message
    assert sorted(p.name for p in workdir.iterdir()) == ["odd.zip"]


def test_a_url_with_a_space_is_one_line(shell, workdir):
    message = refused(shell, "%drive_get 'http://127.0.0.1:1/my file.zip' -q")
    assert "Not a valid URL" in message or "%20" in message
    assert list(workdir.iterdir()) == []


def test_a_url_with_a_300_character_name_saves_under_a_shorter_one(shell, workdir):
    """The name a URL ends with becomes the file's: 300 characters was an ENAMETOOLONG traceback."""
    name = "n" * 300 + ".csv"
    with LocalServer() as server:
        server.files[name] = b"a,b\n1,2\n"
        path = run_ok(shell, f"%drive_get {server.url}{name} -q -o")
    assert path.path.name == "n" * 196 + ".csv" and path.path.read_bytes() == b"a,b\n1,2\n"


def test_a_shared_folder_named_dotdot_writes_nothing_outside_the_target(drive, workdir):
    """A subfolder named '..' in someone's shared folder: gdown 6.5.1 lists it as '_' (our own guard
    in _get_drive_folder refuses a '..' that would get through), and either way every file lands
    inside the target folder."""
    drive.folders[SUB_ID] = ("..", [("file", DEEP_ID)])
    result = download(f"https://drive.google.com/drive/folders/{FOLDER_ID}", progress=False)
    target = workdir / "dataset"
    assert all(target in path.parents for path, _ in result.files)
    assert [p.relative_to(workdir).as_posix() for p in workdir.rglob("deep.txt")] == ["dataset/_/deep.txt"]
