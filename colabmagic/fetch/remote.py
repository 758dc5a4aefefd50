"""The remote end of a download: one GET (ranged when resuming) and what its answer says.

Standard library only (urllib), so plain URLs need no extra. A `Body` is what the downloader reads
from: urllib's response is one as it is; Kaggle hands over the requests response kagglesdk opened
(fetch/kaggle/client.py adapts it) so its first answer is read, not requested twice.
"""

from __future__ import annotations

import functools
import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Mapping, Protocol

from ..errors import DownloadError, NetworkError, shown
from ..locale import tr

# What a reconnect may retry: the connection broke, timed out, or the answer was cut short.
TRANSIENT = (OSError, http.client.HTTPException)


class Body(Protocol):
    """An HTTP answer being read: urllib's response, or an adapter with the same few members."""

    status: int
    url: str
    headers: Mapping[str, str]

    def read1(self, size: int) -> bytes:
        """What has arrived, up to `size` bytes, waiting only while nothing has (b"": the end)."""

    def close(self) -> None: ...


class RangeNotSatisfiable(Exception):
    """416: the partial file is already as long as the remote file (complete, or not the same file)."""


def open_body(url: str, offset: int, validator: str | None, timeout: float) -> Body:
    """GET url from byte `offset` (Range, with If-Range when a validator of the partial's file is known:
    a changed file then comes back whole, as a 200, in the same round trip)."""
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator
    try:
        # a new opener each time: urlopen's is built once per process, with the proxy variables of then
        return urllib.request.build_opener().open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            raise RangeNotSatisfiable from err
        raise NetworkError(tr("Download of {url} failed: HTTP {code} {reason}").format(
            url=shown(url), code=err.code, reason=err.reason)) from err
    except (http.client.InvalidURL, ValueError):  # a space or a control character in it; no scheme
        raise DownloadError(tr("Not a valid URL: {url!r} (write a space as %20)").format(url=shown(url))) from None
    except (urllib.error.URLError, OSError) as err:  # refused, DNS failure, timeout, TLS
        host = urllib.parse.urlsplit(url).hostname or url
        raise NetworkError(tr("Cannot reach {host}: {why}").format(host=host, why=reason(err))) from err


def transient(err: NetworkError) -> bool:
    """Whether open_body's NetworkError came from the network (a retry may get through), not from
    the server's answer (an HTTP error status)."""
    cause = err.__cause__
    return isinstance(cause, TRANSIENT) and not isinstance(cause, urllib.error.HTTPError)


@functools.cache
def user_agent() -> str:
    """colabmagic/VERSION, read from the installed package's metadata (no import of the package's
    entry point from down here: imports only go downwards)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return f"colabmagic/{version('colabmagic')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "colabmagic"


def reason(err: BaseException) -> str:
    cause = getattr(err, "reason", err)
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return tr("timed out")
    return getattr(cause, "strerror", None) or str(cause) or type(cause).__name__


def range_start(headers: Mapping[str, str]) -> int | None:
    """Where a 206 starts: "Content-Range: bytes 100-199/200" -> 100."""
    unit, _, spec = (headers.get("Content-Range") or "").partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def length(headers: Mapping[str, str]) -> int | None:
    """Content-Length in bytes of an identity-encoded body; None when unknown or encoded (then the
    length counts encoded bytes, the file holds decoded ones)."""
    if (headers.get("Content-Encoding") or "identity").lower() not in ("", "identity"):
        return None
    value = headers.get("Content-Length") or ""
    return int(value) if value.isdigit() else None


def validator(headers: Mapping[str, str]) -> str | None:
    """What If-Range may carry for this answer's file: a strong ETag, else Last-Modified."""
    etag = headers.get("ETag") or ""
    if etag and not etag.startswith("W/"):  # If-Range refuses weak validators (RFC 9110 13.1.5)
        return etag
    return headers.get("Last-Modified") or None
