"""colabmagic.fetch: downloads against a real HTTP server on 127.0.0.1, and safe extraction."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import stat
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from colabmagic.errors import DataError, DownloadError
from colabmagic.fetch import InTheWay, NetworkError, download, extract

PROXY_VARIABLES = ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]


class LocalServer:
    """http.server on 127.0.0.1 in a thread, serving `files` (URL path -> bytes).

    Honours `Range: bytes=N-` with 206 unless `honour_range` is False, and `If-Range` against the
    file's ETag in `etags` (when one is set); `break_after` makes the next response stop after
    that many body bytes and drop the connection; `no_length` leaves Content-Length out (the body
    ends when the connection closes). `requests` records (path, Range header) of every request,
    `if_ranges` their If-Range headers.
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.if_ranges: list[str | None] = []
        self.honour_range = True
        self.no_length = False
        self.break_after: int | None = None
        self.stall_after: int | None = None  # the next response sends that many bytes, then waits
        self.released = threading.Event()    # ... until this is set (at exit)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, ranged = self.path.lstrip("/"), self.headers.get("Range")
                server.requests.append((path, ranged))
                server.if_ranges.append(self.headers.get("If-Range"))
                body = server.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                etag = server.etags.get(path)
                if self.headers.get("If-Range") not in (None, etag):  # changed since: all of it
                    ranged = None
                start = int(ranged.removeprefix("bytes=").partition("-")[0]) if ranged and server.honour_range else 0
                if start >= len(body) > 0:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                if etag:
                    self.send_header("ETag", etag)
                if server.no_length:
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut, server.break_after = server.break_after, None
                stall, server.stall_after = server.stall_after, None
                if stall is not None:
                    self.wfile.write(body[start:start + stall])
                    self.wfile.flush()
                    server.released.wait()
                    return
                self.wfile.write(body[start:] if cut is None else body[start:start + cut])
                if cut is not None:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """urllib honours proxy variables: requests to 127.0.0.1 must go straight there."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


PAYLOAD = bytes(range(256)) * 2000 + b"tail"  # 512,004 bytes: several chunks are not needed, one is fine
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_download_verifies_and_renames(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    seen = []
    dest = download(server.url + "f.bin", tmp_path / "sub" / "f.bin", sha256=SHA256, md5=MD5,
                    progress=lambda done, total: seen.append((done, total)))
    assert dest == tmp_path / "sub" / "f.bin"
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "f.bin.part").exists()
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert server.requests == [("f.bin", None)]


def test_existing_file_with_right_checksum_is_not_fetched_again(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    assert download(server.url + "f.bin", tmp_path / "f.bin", md5=MD5).read_bytes() == PAYLOAD
    assert server.requests == []


def test_existing_file_with_wrong_checksum_is_replaced(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    (tmp_path / "f.bin").write_bytes(b"stale")
    assert download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256).read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    with pytest.raises(DownloadError, match="Checksum mismatch for f.bin") as info:
        download(server.url + "f.bin", tmp_path / "f.bin", sha256="0" * 64)
    assert not isinstance(info.value, NetworkError)
    assert sorted(tmp_path.iterdir()) == []


def test_resume_uses_range(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:100_000])
    seen = []
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256,
             progress=lambda done, total: seen.append((done, total)))
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert server.requests == [("f.bin", "bytes=100000-")]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_resume_after_a_broken_connection(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    server.break_after = 70_000
    with pytest.raises(NetworkError, match="run the same line again to resume"):
        download(server.url + "f.bin", tmp_path / "f.bin", md5=MD5)
    assert (tmp_path / "f.bin.part").stat().st_size == 70_000
    assert not (tmp_path / "f.bin").exists()
    download(server.url + "f.bin", tmp_path / "f.bin", md5=MD5)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert server.requests[-1] == ("f.bin", "bytes=70000-")
    assert not (tmp_path / "f.bin.part").exists()


def test_server_without_range_support_restarts(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    server.honour_range = False
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_download(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)  # the server answers 416
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_corrupt_part_file_is_removed_after_mismatch(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(b"x" * 5000)
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert sorted(tmp_path.iterdir()) == []
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)  # and the next try starts clean
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_resume_false_starts_over(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(b"x" * 5000)
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256, resume=False)
    assert server.requests == [("f.bin", None)]


def test_http_error_writes_nothing(server, tmp_path):
    with pytest.raises(NetworkError, match="HTTP 404"):
        download(server.url + "missing.bin", tmp_path / "new" / "f.bin")
    assert not (tmp_path / "new").exists()


# --- the one downloader's contract ----------------------------------------------------------

CHANGED = bytes(reversed(PAYLOAD))  # the same length: only a validator tells the two apart


def test_if_range_resumes_the_same_file(server, tmp_path):
    server.files["f.bin"], server.etags["f.bin"] = PAYLOAD, '"v1"'
    server.break_after = 70_000
    with pytest.raises(NetworkError):
        download(server.url + "f.bin", tmp_path / "f.bin")
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert server.requests[-1] == ("f.bin", "bytes=70000-") and server.if_ranges[-1] == '"v1"'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no .part, no record of it


def test_if_range_gets_a_changed_file_whole_in_the_same_request(server, tmp_path):
    server.files["f.bin"], server.etags["f.bin"] = PAYLOAD, '"v1"'
    server.break_after = 70_000
    with pytest.raises(NetworkError):
        download(server.url + "f.bin", tmp_path / "f.bin")
    server.files["f.bin"], server.etags["f.bin"] = CHANGED, '"v2"'
    server.requests.clear()
    download(server.url + "f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == CHANGED  # no old bytes spliced in front
    assert server.requests == [("f.bin", "bytes=70000-")] and server.if_ranges[-1] == '"v1"'


def test_a_broken_transfer_is_retried_within_the_call(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    server.break_after = 70_000
    seen = []
    download(server.url + "f.bin", tmp_path / "f.bin", md5=MD5, retries=1,
             progress=lambda done, total: seen.append((done, total)))
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert server.requests == [("f.bin", None), ("f.bin", "bytes=70000-")]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and all(total == len(PAYLOAD) for _, total in seen)


def test_a_retry_answered_whole_starts_over_instead_of_splicing(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    server.honour_range = False
    server.break_after = 70_000  # the first answer breaks; the retry's answer is all of it again
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256, retries=1)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert server.requests == [("f.bin", None), ("f.bin", "bytes=70000-")]


def test_an_http_error_is_an_answer_and_not_retried(server, tmp_path):
    with pytest.raises(NetworkError, match="HTTP 404"):
        download(server.url + "missing.bin", tmp_path / "f.bin", retries=3)
    assert server.requests == [("missing.bin", None)]
    with pytest.raises(NetworkError, match="Cannot reach 127.0.0.1"):  # refused: tried again, then one line
        download(closed_port_url() + "f.bin", tmp_path / "f.bin", retries=1)
    assert list(tmp_path.iterdir()) == []


def test_retries_used_up_keep_the_bytes_for_the_next_run(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    server.break_after = 1000
    with pytest.raises(NetworkError, match=r"broke off after 1000 B of 500.0 KiB .*run the same line again"):
        download(server.url + "f.bin", tmp_path / "f.bin", retries=0)
    assert (tmp_path / "f.bin.part").stat().st_size == 1000


def test_a_checksum_mismatch_after_a_resume_keeps_nothing(server, tmp_path):
    server.files["f.bin"], server.etags["f.bin"] = PAYLOAD, '"v1"'
    server.break_after = 70_000
    with pytest.raises(NetworkError):
        download(server.url + "f.bin", tmp_path / "f.bin")
    with pytest.raises(DownloadError, match="Checksum mismatch for f.bin") as info:
        download(server.url + "f.bin", tmp_path / "f.bin", md5="0" * 32)
    assert not isinstance(info.value, NetworkError) and "\n" not in str(info.value)
    assert sorted(tmp_path.iterdir()) == []


def test_a_symlink_planted_at_the_part_name_is_never_written_through(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "f.bin.part").symlink_to(victim)
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD and victim.read_bytes() == b"precious"
    assert server.requests == [("f.bin", None)]  # nothing to resume from a link


def test_a_hard_link_planted_at_the_part_name_is_left_alone(server, tmp_path):
    server.files["f.bin"] = PAYLOAD
    victim = tmp_path / "victim"
    victim.write_bytes(PAYLOAD[:1000])
    os.link(victim, tmp_path / "f.bin.part")
    server.break_after = 5000
    with pytest.raises(NetworkError):
        download(server.url + "f.bin", tmp_path / "f.bin")
    assert victim.read_bytes() == PAYLOAD[:1000]  # the kept bytes replaced the name, not the file
    assert server.requests == [("f.bin", None)]


def test_what_a_killed_run_left_is_resumed(server, tmp_path):
    """A kernel killed mid-download (Jupyter SIGTERMs it; here SIGKILL: no clean-up at all) leaves
    its own NAME.<random>.part: the next run finds nobody holds it and resumes it."""
    import signal
    import sys
    import time

    server.files["f.bin"] = PAYLOAD
    server.stall_after = 40_000
    code = f"from colabmagic.fetch import download; download({server.url + 'f.bin'!r}, {str(tmp_path / 'f.bin')!r})"
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 60  # a bound for a stuck child, not a measurement
    while not [p for p in tmp_path.glob("f.bin.*.part") if p.stat().st_size == 40_000]:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert server.requests[-1] == ("f.bin", "bytes=40000-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_a_live_runs_file_is_not_taken(server, tmp_path):
    import fcntl

    server.files["f.bin"] = PAYLOAD
    live = tmp_path / "f.bin.99999999.part"
    live.write_bytes(PAYLOAD[:90_000])
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a download in progress elsewhere holds its file
        download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert server.requests == [("f.bin", None)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", live.name]


def test_a_run_takes_the_kept_bytes_over_by_renaming_them(server, tmp_path):
    """The next run moves NAME.part to a fresh name of its own (a rename: the same file, nothing
    copied, nothing written through the old name); a reader holding it does not stop that."""
    server.files["f.bin"] = PAYLOAD
    server.break_after = 30_000
    with pytest.raises(NetworkError):
        download(server.url + "f.bin", tmp_path / "f.bin")
    kept = tmp_path / "f.bin.part"
    inode = kept.stat().st_ino
    with open(kept, "rb") as held:
        import fcntl

        fcntl.flock(held, fcntl.LOCK_SH)  # a reader does not stop the next run from taking it over
        download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA256)
    assert (tmp_path / "f.bin").stat().st_ino == inode  # resumed in place: renamed, never copied
    assert server.requests[-1] == ("f.bin", "bytes=30000-")


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_too_small_is_known_before_writing(server, small_disk):
    server.files["big.bin"] = PAYLOAD * 3  # 1.5 MB announced in Content-Length
    with pytest.raises(DownloadError, match=r"^Not enough disk space for .*big.bin \(1.5 MiB\): it needs 1.5 MiB"):
        download(server.url + "big.bin", small_disk / "big.bin")
    assert list(small_disk.iterdir()) == []


def test_a_disk_that_fills_up_mid_transfer_is_one_line_and_leaves_nothing(server, small_disk):
    server.files["big.bin"] = PAYLOAD * 3
    server.no_length = True  # nothing announced: the disk fills up while writing
    with pytest.raises(DownloadError, match="Disk full while downloading .*big.bin") as info:
        download(server.url + "big.bin", small_disk / "big.bin", retries=2)
    assert not isinstance(info.value, NetworkError) and "\n" not in str(info.value)
    assert list(small_disk.iterdir()) == []


@pytest.mark.parametrize("url", [closed_port_url() + "f.bin", "http://colabmagic-test.invalid/f.bin"],
                         ids=["refused", "dns"])
def test_unreachable_host_writes_nothing(tmp_path, url):
    with pytest.raises(NetworkError, match="Cannot reach"):
        download(url, tmp_path / "new" / "f.bin", timeout=5)
    assert not (tmp_path / "new").exists()


def test_bad_checksum_argument():
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        download("http://127.0.0.1/x", "/nonexistent/x", sha256="abc")


# --- extraction -------------------------------------------------------------------------------

def make_tar(path: Path, members: list[tuple[str, bytes | None, bytes]]) -> Path:
    """members: (name, tar type, data); type None is a regular file."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind is None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type = kind
                info.linkname = data.decode()
                tar.addfile(info)
    return path


def test_extract_tar_and_zip(tmp_path):
    tgz = make_tar(tmp_path / "a.tar.gz", [("top/", tarfile.DIRTYPE, b""), ("top/x.txt", None, b"x"),
                                            ("top/sub/y.txt", None, b"y")])
    zpath = tmp_path / "b.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("ztop/z.txt", "z")
    out = tmp_path / "out"
    assert extract(tgz, out) == out
    extract(zpath, out)
    assert (out / "top" / "x.txt").read_bytes() == b"x"
    assert (out / "top" / "sub" / "y.txt").read_bytes() == b"y"
    assert (out / "ztop" / "z.txt").read_text() == "z"
    assert sorted(p.name for p in out.iterdir()) == ["top", "ztop"]  # no staging folder left


def test_extract_never_removes_what_the_archive_did_not_create(tmp_path):
    out = tmp_path / "out"
    (out / "top").mkdir(parents=True)
    (out / "top" / "my_notes.txt").write_text("mine")
    (out / "top" / "x.txt").write_text("my own x")
    archive = make_tar(tmp_path / "a.tar.gz", [("top/x.txt", None, b"x"), ("top/y.txt", None, b"y")])
    with pytest.raises(InTheWay, match=r"top/ already exists \(top/my_notes.txt is not in a.tar.gz\)") as caught:
        extract(archive, out)
    assert caught.value.entry == out / "top" and "\n" not in str(caught.value)
    (out / "top" / "my_notes.txt").unlink()
    with pytest.raises(InTheWay, match=r"top/x.txt differs from the one in a.tar.gz"):
        extract(archive, out)
    assert sorted(p.name for p in out.iterdir()) == ["top"]  # no staging folder left
    assert sorted(p.name for p in (out / "top").iterdir()) == ["x.txt"]  # nothing written, nothing removed
    assert (out / "top" / "x.txt").read_text() == "my own x"


def test_extract_again_completes_an_earlier_extraction(tmp_path):
    out = tmp_path / "out"
    archive = make_tar(tmp_path / "a.tar.gz", [("top/", tarfile.DIRTYPE, b""), ("top/x.txt", None, b"x"),
                                               ("top/sub/y.txt", None, b"y"), ("z.txt", None, b"z")])
    extract(archive, out)
    (out / "other.txt").write_text("not in the way")  # beside the archive's entries: none of its business
    extract(archive, out)  # the same line again: everything is what the archive holds
    (out / "top" / "sub" / "y.txt").unlink()
    extract(archive, out)
    assert (out / "top" / "sub" / "y.txt").read_bytes() == b"y"
    assert sorted(p.name for p in out.iterdir()) == ["other.txt", "top", "z.txt"]


def test_extract_does_not_write_through_a_symlink_in_the_way(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "top").symlink_to(elsewhere)
    with pytest.raises(InTheWay, match="top is a symbolic link"):
        extract(make_tar(tmp_path / "a.tar.gz", [("top/x.txt", None, b"x")]), tmp_path / "out")
    assert list(elsewhere.iterdir()) == []


def test_exclusive_extract_wants_the_whole_folder(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "my_notes.txt").write_text("mine")
    archive = make_tar(tmp_path / "data.tar.gz", [("train.csv", None, b"a"), ("test.csv", None, b"b")])
    with pytest.raises(InTheWay, match=r"data/ already exists \(my_notes.txt is not in data.tar.gz\)"):
        extract(archive, out, exclusive=True)
    assert sorted(p.name for p in out.iterdir()) == ["my_notes.txt"]
    (out / "my_notes.txt").unlink()
    extract(archive, out, exclusive=True)
    extract(archive, out, exclusive=True)
    assert sorted(p.name for p in out.iterdir()) == ["test.csv", "train.csv"]


@pytest.mark.parametrize("member", [
    ("../evil.txt", None, b"evil"),
    ("top/../../evil.txt", None, b"evil"),
    ("/tmp/colabmagic-evil.txt", None, b"evil"),
    ("top/link", tarfile.SYMTYPE, b"/etc/passwd"),
    ("top/hard", tarfile.LNKTYPE, b"../evil.txt"),
    ("top/fifo", tarfile.FIFOTYPE, b""),
], ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "fifo"])
def test_extract_refuses_escaping_tar_members(tmp_path, member):
    archive = make_tar(tmp_path / "bad.tar.gz", [("top/ok.txt", None, b"ok"), member])
    with pytest.raises(DataError, match="Refusing to extract bad.tar.gz"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checked before anything was written
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/colabmagic-evil.txt").exists()


def test_extract_refuses_escaping_zip_members(tmp_path):
    dotdot = tmp_path / "dotdot.zip"
    with zipfile.ZipFile(dotdot, "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr("../evil.txt", "evil")
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    for archive in (dotdot, link):
        with pytest.raises(DataError, match="Refusing to extract"):
            extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_extract_rejects_a_non_archive(tmp_path):
    (tmp_path / "f.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="not a tar or zip archive"):
        extract(tmp_path / "f.tar.gz", tmp_path / "out")


# --- one exception tree, no upward import ------------------------------------------------------

def test_network_error_lives_in_the_one_exception_tree():
    import colabmagic.errors
    import colabmagic.fetch

    assert NetworkError is colabmagic.errors.NetworkError is colabmagic.fetch.NetworkError
    assert issubclass(NetworkError, DownloadError)


def test_user_agent_comes_from_the_package_metadata():
    from importlib.metadata import version

    from colabmagic.fetch.remote import user_agent

    assert user_agent() == f"colabmagic/{version('colabmagic')}"
