"""Checksums of downloads: the expected digests as given, and the hashers fed as the bytes arrive."""

from __future__ import annotations

import hashlib
import os

from ..locale import tr

BLOCK = 1 << 20  # bytes per read when hashing a file already on disk
_HEX_LENGTHS = {"sha256": 64, "md5": 32}


def expected_digests(*, sha256: str | None = None, md5: str | None = None) -> dict[str, str]:
    """{"sha256": hex, "md5": hex} for those given, lower-cased; ValueError for a malformed one."""
    expected = {name: value.strip().lower() for name, value in (("sha256", sha256), ("md5", md5)) if value}
    for name, value in expected.items():
        if len(value) != _HEX_LENGTHS[name] or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(tr("{algorithm} must be {digits} hex digits, got {value!r}").format(
                algorithm=name, digits=_HEX_LENGTHS[name], value=value))
    return expected


class Digests:
    """The running digests of one file for each expected algorithm (none expected: nothing to do)."""

    def __init__(self, expected: dict[str, str]):
        self.expected = expected
        self.restart()

    def restart(self) -> None:
        self._hashers = [(name, hashlib.new(name, usedforsecurity=False)) for name in self.expected]

    def update(self, chunk) -> None:
        for _, hasher in self._hashers:
            hasher.update(chunk)

    def feed_file(self, path: os.PathLike | str, limit: int | None = None) -> None:
        """Hash the first `limit` bytes (all when None) of a file on disk: a partial being resumed."""
        if not self._hashers:
            return
        left = float("inf") if limit is None else limit
        with open(path, "rb") as f:
            while left > 0 and (block := f.read(int(min(BLOCK, left)))):
                self.update(block)
                left -= len(block)

    def hexdigests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self._hashers}

    def mismatch(self) -> str:
        """'' when every digest matches; else 'expected md5 X, got Y'."""
        got = self.hexdigests()
        return ", ".join(tr("expected {algorithm} {expected}, got {got}").format(algorithm=name, expected=value,
                                                                                 got=got[name])
                         for name, value in self.expected.items() if got[name] != value)


def sha256_of(path: os.PathLike | str) -> str:
    digests = Digests({"sha256": ""})
    digests.feed_file(path)
    return digests.hexdigests()["sha256"]


def file_matches(path: os.PathLike | str, expected: dict[str, str]) -> bool:
    digests = Digests(expected)
    digests.feed_file(path)
    return not digests.mismatch()
