"""The one resumable downloader: plain URLs, Kaggle's blobs and %drive_get's URLs all come through here.

- The bytes go to a fresh file of this run's (fetch/partial.py) and get the final name only when
  complete, synced and matching the checksums: the file appears whole or not at all.
- A partial file is resumed with `Range`, and `If-Range` when we know which version of the remote
  file it holds: a file that changed since comes back whole (200) in the same round trip and the
  old bytes are dropped. An answer is only appended when it is a 206 starting at our offset.
- A transfer that breaks off is resumed up to `retries` times within the call; after that the
  bytes wait for the next run ("run the same line again to resume").
- A full disk is one line, known before the first byte when the length is; nothing is left.

Speed (benchmarks/bench_drive.py against curl, bench_kaggle.py against kagglehub): reads of what
the socket has (read1, up to 1 MiB) written straight from the bytes read; the page cache written
back by a background thread as we go, so the fsync before the rename waits for the tail only, not
for the whole file at the end (that wait was most of the gap to curl). Checksums are computed on
this thread: md5 takes a third of a 200 MB local Kaggle transfer's time here, yet handing batches
to a hashing thread measured the same (median 1.88 s vs 1.85 s over 10 pairs) on a 2-core machine
that is busy anyway.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from .. import units
from ..errors import DownloadError, NetworkError, shown
from ..locale import mark, tr
from . import remote
from .checksums import Digests, expected_digests, file_matches
from .partial import Partial

BUFFER = 1 << 20          # at most this many bytes per read from the socket (and per write to the file)
FLUSH_EVERY = 32 << 20    # bytes written between two background write-backs
SPACE_MARGIN = 1 << 20    # bytes left free beyond what a download needs
BACKOFF = 0.2, 5.0        # seconds before the first reconnect (doubling), and at most
REPORT_EVERY = 0.5        # seconds: progress of a big file on a slow link shows at least this often
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
FREE_SPACE = mark("free some space")  # what a disk-full line tells the user to do, unless the caller knows better

# progress(done_bytes, total_bytes_or_None), called for every BUFFER bytes and at the end (_Reporter)
Progress = Callable[[int, "int | None"], None]


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
             resume: bool = True, progress: Progress | None = None, timeout: float = 30, retries: int = 0) -> Path:
    """Download `url` to `dest` and return `dest`.

    An existing `dest` is kept when it matches the checksums (or when none is given). `resume`
    continues the bytes an earlier run left. `timeout` is seconds per network operation, not for
    the whole transfer; `retries` is how often a broken transfer is resumed within this call.

    Raises NetworkError (unreachable, HTTP error status, connection lost: the bytes stay for a
    resume) or DownloadError (checksum mismatch or disk full: nothing is left).
    """
    return Download(url, dest, sha256=sha256, md5=md5, resume=resume, progress=progress, timeout=timeout,
                    retries=retries).run()


class Download:
    """One download of `url` to `dest`; `received` counts the bytes that came over the network."""

    def __init__(self, url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None,
                 resume: bool = True, progress: Progress | None = None, timeout: float = 30, retries: int = 0,
                 label: str | None = None, space_hint: str = FREE_SPACE):
        self.url, self.dest = url, Path(dest)
        self.digests = Digests(expected_digests(sha256=sha256, md5=md5))
        self.resume, self.progress, self.timeout, self.retries = resume, progress, timeout, retries
        self.label = label or shown(url)
        self.space_hint = space_hint   # what the disk-full lines tell the user to do (a marked message)
        self.received = 0

    def run(self, first: remote.Body | None = None) -> Path:
        """Fetch it. `first`: an answer to an unranged GET of the file already opened by the caller
        (Kaggle's client); its bytes are used instead of asking again."""
        if first is None and self.dest.is_file() and file_matches(self.dest, self.digests.expected):
            return self.dest
        partial = Partial(self.dest)
        try:
            offset, validator = self._start(partial)
            for attempt in range(self.retries + 1):
                try:
                    self._transfer(partial, first, offset, validator)
                    break
                except _BrokenOff as broken:
                    first = None
                    offset = os.fstat(partial.fd).st_size if partial.fd is not None else 0
                    validator = broken.validator
                    if attempt == self.retries:
                        raise NetworkError(broken.message) from None
                    time.sleep(min(BACKOFF[0] * 2 ** attempt, BACKOFF[1]))
            os.fsync(partial.fd)
            if mismatch := self.digests.mismatch():
                partial.discard()
                raise DownloadError(tr("Checksum mismatch for {name} from {source} ({mismatch}): the download is "
                                       "damaged (or the checksum is wrong); nothing was kept, run again").format(
                    name=self.dest.name, source=self.label, mismatch=mismatch))
            return partial.finish()
        except OSError as err:
            if err.errno not in _DISK_FULL:
                raise
            partial.discard()  # a partial file on a full disk only holds the space the user needs back
            raise DownloadError(tr("Disk full while downloading {source} ({why}): {hint}; nothing half-written was "
                                   "kept").format(source=self.label, why=err.strerror,
                                                  hint=tr(self.space_hint))) from None
        finally:
            partial.keep()  # broke off (or interrupted): what arrived waits for the next run
            if first is not None:
                first.close()

    # --- one answer at a time ------------------------------------------------------------------

    def _start(self, partial: Partial) -> tuple[int, str | None]:
        if not self.resume:
            partial.forget_kept()
            return 0, None
        offset, validator = partial.adopt()
        if offset:
            self.digests.feed_file(partial.path, offset)
        return offset, validator

    def _transfer(self, partial: Partial, first: remote.Body | None, offset: int, validator: str | None) -> None:
        body = self._answer(partial, first, offset, validator)
        if body is None:  # the partial file already held all of it
            return
        with body:
            if offset and not (body.status == 206 and remote.range_start(body.headers) == offset):
                offset = self._restart(partial)  # changed (If-Range), or Range ignored: this is all of it
            rest = remote.length(body.headers)
            total = None if rest is None else offset + rest
            self._check_space(rest, total)
            partial.create()
            validator = remote.validator(body.headers)
            partial.note_validator(validator)
            self._copy(body, partial.fd, offset, total, validator)

    def _answer(self, partial: Partial, first: remote.Body | None, offset: int, validator: str | None):
        """The answer to read from offset on (None: nothing is missing)."""
        if first is not None:
            if not offset or not self._continues(first, offset, validator):
                if offset:
                    self._restart(partial)
                return first
            first.close()  # it starts at byte 0: ask for the rest instead
            self.url = first.url
        try:
            return remote.open_body(self.url, offset, validator, self.timeout)
        except remote.RangeNotSatisfiable:  # the partial is as long as the file: complete, or wrong
            if not self.digests.mismatch():
                return None
            self._restart(partial)
            return remote.open_body(self.url, 0, None, self.timeout)
        except NetworkError as err:
            if remote.transient(err):  # unreachable for now: a retry may reach it
                raise _BrokenOff(str(err), validator) from None
            raise

    @staticmethod
    def _continues(first: remote.Body, offset: int, validator: str | None) -> bool:
        """Whether asking `first`'s server for the bytes after `offset` gives the same file's."""
        total = remote.length(first.headers)
        if (first.headers.get("Accept-Ranges") or "").lower() != "bytes" or total is None or offset > total:
            return False
        return validator is None or validator == remote.validator(first.headers)

    def _restart(self, partial: Partial) -> int:
        if partial.fd is not None:
            partial.restart()
        self.digests.restart()
        return 0

    def _copy(self, body: remote.Body, fd: int, done: int, total: int | None, validator: str | None) -> None:
        flusher = _Flusher(fd)
        report = _Reporter(self.progress, done, total)
        try:
            while True:
                try:
                    # read1: what the socket has, so when the connection breaks (or stalls until the
                    # timeout) every byte that arrived is written, and a resume asks for none again
                    chunk = body.read1(BUFFER)
                except remote.TRANSIENT as err:  # reset, timeout
                    raise self._broken(done, total, remote.reason(err), validator) from None
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:  # a write may take part of it (then the next one says why)
                    view = view[os.write(fd, view):]
                self.digests.update(chunk)
                done += len(chunk)
                self.received += len(chunk)
                flusher.wrote(len(chunk))
                report.arrived(done)
        finally:
            flusher.join()
            report.flush(done)
        if total is not None and done < total:
            raise self._broken(done, total, tr("the connection closed early"), validator)

    def _broken(self, done: int, total: int | None, why: str, validator: str | None) -> "_BrokenOff":
        if total is None:
            message = tr("The download of {source} broke off after {done} ({why}); run the same line again to resume")
        else:
            message = tr("The download of {source} broke off after {done} of {total} ({why}); run the same line "
                         "again to resume")
        return _BrokenOff(message.format(source=self.label, done=units.size(done), total=units.size(total or 0),
                                         why=why), validator)

    def _check_space(self, need: int | None, total: int | None) -> None:
        folder = next(p for p in (self.dest.parent, *self.dest.parent.parents) if p.is_dir())
        free = shutil.disk_usage(folder).free
        if need and need + SPACE_MARGIN > free:
            raise DownloadError(tr("Not enough disk space for {source} ({size}): it needs {need} but {folder} has "
                                   "{free} free; {hint} (nothing was written)").format(
                source=self.label, size=units.size(total or need), need=units.size(need), folder=folder,
                free=units.size(free), hint=tr(self.space_hint)))


class _BrokenOff(Exception):
    """The transfer stopped part-way; a reconnect may resume it."""

    def __init__(self, message: str, validator: str | None):
        super().__init__(message)
        self.message, self.validator = message, validator


class _Reporter:
    """Calls progress(done, total) for every BUFFER bytes, at least every REPORT_EVERY seconds
    for a bigger file, and once at the end: as many calls for a file as before reads of what the
    socket has (read1) split it into pieces of any size, and a small file gets exactly one."""

    def __init__(self, progress: Progress | None, done: int, total: int | None):
        self.progress, self.total, self.reported = progress, total, done
        self.timed = total is None or total - done > BUFFER
        self.last = time.monotonic()

    def arrived(self, done: int) -> None:
        if self.progress is None:
            return
        if done - self.reported >= BUFFER or (self.timed and time.monotonic() - self.last >= REPORT_EVERY):
            self.flush(done)

    def flush(self, done: int) -> None:
        if self.progress is not None and done != self.reported:
            self.progress(done, self.total)
            self.reported, self.last = done, time.monotonic()


class _Flusher:
    """Writes the file's pages back in a background thread every FLUSH_EVERY bytes while the
    transfer goes on, so the fsync before the rename waits for the tail only."""

    def __init__(self, fd: int):
        self.fd, self.pending, self.thread = fd, 0, None

    def wrote(self, size: int) -> None:
        self.pending += size
        if self.pending >= FLUSH_EVERY and (self.thread is None or not self.thread.is_alive()):
            self.pending = 0
            self.thread = threading.Thread(target=self._sync, daemon=True, name="colabmagic-flush")
            self.thread.start()

    def _sync(self) -> None:
        try:
            os.fdatasync(self.fd) if hasattr(os, "fdatasync") else os.fsync(self.fd)
        except OSError:  # the final fsync reports any error
            pass

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()
