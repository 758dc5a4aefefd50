"""A fake Kaggle API on 127.0.0.1 that the real, unmodified kagglehub/kagglesdk talk to.

What kagglehub 1.0.3 / kagglesdk 0.1.38 do (read from their source, pinned in pyproject):
- `KAGGLE_API_ENVIRONMENT=LOCALHOST` makes kagglesdk call `http://localhost/api/v1/<Service>/<Method>`
  (port 80). No variable takes a port, but the calls honour `HTTP_PROXY`: with
  `HTTP_PROXY=http://127.0.0.1:PORT` (and localhost not in NO_PROXY) every call arrives here as a
  proxy request (`POST http://localhost/api/v1/... HTTP/1.1`). (`TEST` would print every request
  with its Authorization header: never used.)
- Calls are POSTs with JSON bodies (camelCase fields). Errors are JSON `{"code": N, "message": ...}`
  with the same HTTP status; kagglesdk raises requests.HTTPError for them.
- Downloads answer 302 to a blob URL on another host (like GCS). requests follows it with a GET
  (dropping Authorization, since the host changes); the blob honours `Range` and sends
  Content-Length, Accept-Ranges and `x-goog-hash: crc32c=...,md5=<base64>`.

Faults a test can switch on: a transfer that breaks off after N bytes (for the next K blob
responses), a blob server that ignores Range, a blob without Content-Length. Every request is
logged (without credential values) with the bytes the server managed to send.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TOKEN = "kgat_fake_token_0123456789"       # a valid KAGGLE_API_TOKEN
USERNAME, KEY = "alice", "0123456789abcdef0123456789abcdef"  # valid legacy kaggle.json credentials
BLOB_HOST = "storage.googleapis.test"      # reached through the proxy as well, like GCS
SEND = 1 << 16                              # bytes per sendfile() call: the log counts what really left


@dataclass
class Logged:
    method: str
    host: str
    path: str
    body: dict = field(default_factory=dict)
    range: str | None = None
    auth: str = "none"           # "token", "basic", "bad" or "none": never the value
    status: int = 0
    sent: int = 0                # body bytes the server handed to the socket


@dataclass
class Blob:
    path: Path
    name: str                    # the name in the URL (NAME.zip for an auto-compressed file)

    @property
    def md5(self) -> str:
        digest = hashlib.md5(self.path.read_bytes(), usedforsecurity=False).digest()
        return base64.b64encode(digest).decode()


def make_zip(path: Path, members: dict[str, bytes], *, compress: bool = True) -> Path:
    """A real zip file with these members (name -> bytes)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def make_evil_zip(path: Path) -> Path:
    """A zip whose members try to escape: ../evil, /abs and a symlink, next to an honest file."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.csv", "a,b\n1,2\n")
        zf.writestr(zipfile.ZipInfo("../evil.txt"), "escaped")
        zf.writestr(zipfile.ZipInfo("/abs.txt"), "absolute")
        link = zipfile.ZipInfo("link")
        link.external_attr = (0o120777 << 16)  # S_IFLNK: a symbolic link to /etc/passwd
        zf.writestr(link, "/etc/passwd")
    return path


class FakeKaggle:
    """The datasets, competitions and faults one test serves; start() binds a free 127.0.0.1 port."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.datasets: dict[str, dict] = {}      # "owner/slug" -> {"versions": {n: {"bundle", "files"}}}
        self.competitions: dict[str, dict] = {}  # name -> {"bundle", "files", "accepted"}
        self.blobs: dict[str, Blob] = {}
        self.log: list[Logged] = []
        self.drop_after: int | None = None       # break the next `drops` blob transfers after N bytes
        self.drops = 0
        self.ignore_range = False
        self.no_length = False                   # blobs without Content-Length (close-delimited)
        self.send_buffer: int | None = None      # SO_SNDBUF for blob responses (bounds what a closed
                                                 # connection can have swallowed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- content ------------------------------------------------------------------------------

    def add_dataset(self, handle: str, files: dict[str, bytes], *, version: int = 1,
                    bundle: Path | None = None, compressed: set[str] = frozenset()) -> Path:
        """Serve dataset OWNER/SLUG version N: its files, and their zip (or `bundle`) for a whole download.
        Files named in `compressed` come back from a single-file download as NAME.zip, as Kaggle does."""
        folder = self.root / "datasets" / handle / str(version)
        folder.mkdir(parents=True, exist_ok=True)
        bundle = bundle or make_zip(folder / "bundle.zip", files)
        entry = self.datasets.setdefault(handle, {"versions": {}})
        entry["versions"][version] = {"bundle": bundle, "files": self._files(folder, files, compressed)}
        return bundle

    def add_competition(self, name: str, files: dict[str, bytes], *, accepted: bool = True) -> Path:
        folder = self.root / "competitions" / name
        folder.mkdir(parents=True, exist_ok=True)
        bundle = make_zip(folder / "bundle.zip", files)
        self.competitions[name] = {"bundle": bundle, "files": self._files(folder, files, set()),
                                   "accepted": accepted}
        return bundle

    @staticmethod
    def _files(folder: Path, files: dict[str, bytes], compressed) -> dict[str, tuple[Path, str]]:
        out = {}
        for name, data in files.items():
            path = folder / "files" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name in compressed:
                make_zip(path.with_name(path.name + ".zip"), {Path(name).name: data})
                out[name] = (path.with_name(path.name + ".zip"), Path(name).name + ".zip")
            else:
                path.write_bytes(data)
                out[name] = (path, Path(name).name)
        return out

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "FakeKaggle":
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-kaggle").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The variables that send kagglehub here (set them with monkeypatch.setenv)."""
        return {"KAGGLE_API_ENVIRONMENT": "LOCALHOST", "HTTP_PROXY": self.proxy, "http_proxy": self.proxy}

    # --- what happened ------------------------------------------------------------------------

    def calls(self, method_name: str) -> list[Logged]:
        return [r for r in self.log if r.path.endswith("/" + method_name)]

    def blob_requests(self) -> list[Logged]:
        return [r for r in self.log if r.host == BLOB_HOST]

    def record(self, entry: Logged) -> Logged:
        with self._lock:
            self.log.append(entry)
        return entry

    def blob_url(self, path: Path, name: str) -> str:
        key = hashlib.sha1(str(path).encode()).hexdigest()[:16]
        self.blobs[key] = Blob(path, name)
        return f"http://{BLOB_HOST}/kaggle-data-sets/{key}/{name}?X-Goog-Signature=fake"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stalls)
    server_state: FakeKaggle

    def log_message(self, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):  # the client hung up: nothing to answer
            self.close_connection = True

    # --- plumbing -----------------------------------------------------------------------------

    def _target(self) -> tuple[str, str]:
        parts = urlsplit(self.path)
        return (parts.hostname or self.headers.get("Host", "")).split(":")[0], parts.path

    def _auth(self) -> str:
        value = self.headers.get("Authorization", "")
        if not value:
            return "none"
        kind, _, credential = value.partition(" ")
        if kind == "Bearer":
            return "token" if credential == TOKEN else "bad"
        if kind == "Basic":
            try:
                user, _, key = base64.b64decode(credential).decode().partition(":")
            except ValueError:
                return "bad"
            return "basic" if (user, key) == (USERNAME, KEY) else "bad"
        return "bad"

    def _json(self, entry: Logged, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        entry.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, entry: Logged, status: int, message: str) -> None:
        self._json(entry, status, {"code": status, "message": message})

    def _redirect(self, entry: Logged, url: str) -> None:
        entry.status = 302
        self.send_response(302)
        self.send_header("Location", url)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # --- the API ------------------------------------------------------------------------------

    def do_POST(self):  # noqa: N802
        state = self.server_state
        host, path = self._target()
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        entry = state.record(Logged("POST", host, path, body, auth=self._auth()))
        if not path.startswith("/api/v1/"):
            return self._error(entry, 404, "no such endpoint")
        if entry.auth in ("bad", "none"):
            # Kaggle answers 401 to a wrong key; downloads need an account too
            return self._error(entry, 401, "Unauthenticated")
        method = path.rsplit("/", 1)[-1]
        if method == "GetDataset":
            dataset = state.datasets.get(f"{body.get('ownerSlug')}/{body.get('datasetSlug')}")
            if dataset is None:
                return self._error(entry, 404, "Not found")
            current = max(dataset["versions"])
            return self._json(entry, 200, {"id": 1, "ref": f"{body['ownerSlug']}/{body['datasetSlug']}",
                                           "currentVersionNumber": current})
        if method == "DownloadDataset":
            dataset = state.datasets.get(f"{body.get('ownerSlug')}/{body.get('datasetSlug')}")
            versions = dataset["versions"] if dataset else {}
            version = versions.get(body.get("datasetVersionNumber") or (max(versions) if versions else 0))
            if version is None:
                return self._error(entry, 404, "Not found")
            return self._download(entry, version, body.get("fileName"), body["datasetSlug"])
        if method in ("DownloadDataFiles", "DownloadDataFile"):
            competition = state.competitions.get(body.get("competitionName"))
            if competition is None:
                return self._error(entry, 404, "Not found")
            if not competition["accepted"]:
                return self._error(entry, 403, "You must accept this competition's rules before you'll be "
                                               "able to download files.")
            return self._download(entry, competition, body.get("fileName"), body["competitionName"])
        return self._error(entry, 404, f"fake Kaggle does not serve {method}")

    def _download(self, entry: Logged, content: dict, file_name: str | None, slug: str) -> None:
        state = self.server_state
        if file_name:
            if file_name not in content["files"]:
                return self._error(entry, 404, "Not found")
            path, name = content["files"][file_name]
        else:
            path, name = content["bundle"], f"{slug}.zip"
        self._redirect(entry, state.blob_url(path, name))

    # --- the blob store -----------------------------------------------------------------------

    def do_GET(self):  # noqa: N802
        state = self.server_state
        host, path = self._target()
        entry = state.record(Logged("GET", host, path, range=self.headers.get("Range"), auth=self._auth()))
        parts = path.split("/")
        blob = state.blobs.get(parts[2]) if host == BLOB_HOST and len(parts) > 3 else None
        if blob is None:
            return self._error(entry, 404, "no such blob")
        size = blob.path.stat().st_size
        start = 0
        spec = (entry.range or "").removeprefix("bytes=")
        if entry.range and not state.ignore_range:
            first, _, last = spec.partition("-")
            start = int(first)
            if last and int(last) != size - 1:
                return self._error(entry, 400, "the fake serves open-ended ranges only")
            if start >= size:
                entry.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                return self.end_headers()
        entry.status = 206 if start else 200
        self.send_response(entry.status)
        self.send_header("Content-Type", "application/zip" if blob.name.endswith(".zip") else "application/octet-stream")
        if state.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={blob.md5}")
        self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()

        count = size - start
        with state._lock:
            drop = state.drop_after is not None and state.drops > 0
            if drop:
                state.drops -= 1
        if drop:
            count = max(0, min(count, state.drop_after - start))
        if state.send_buffer:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, state.send_buffer)
        try:
            with open(blob.path, "rb") as f:
                while entry.sent < count:
                    n = os.sendfile(self.connection.fileno(), f.fileno(), start + entry.sent,
                                    min(SEND, count - entry.sent))
                    if n == 0:
                        break
                    entry.sent += n
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if drop:  # the connection breaks off mid-body
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


def fake_files(sizes: dict[str, int], *, seed: int = 0) -> dict[str, bytes]:
    """Deterministic file contents of the given sizes (incompressible: random bytes)."""
    import random

    rng = random.Random(seed)
    return {name: rng.randbytes(size) for name, size in sizes.items()}


def csv_bytes(rows: int = 50) -> bytes:
    out = io.StringIO()
    out.write("x1,x2,label\n")
    for i in range(rows):
        out.write(f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}\n")
    return out.getvalue().encode()
