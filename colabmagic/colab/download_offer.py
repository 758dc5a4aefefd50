"""A file the kernel offers to the browser: `files.download()` writes the offer, the server extension's
download route (colabmagic/server/downloads.py) reads it and sends the file.

An offer is a versioned record in the state folder named by a random token, mode 0600; the URL
holds only the token, so the route serves what a kernel offered and nothing else. Offers older
than OFFER_SECONDS are refused and swept away at the next offer.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..files import read_record, state_dir, write_record

KIND, VERSION = "colab-download", 1
OFFER_SECONDS = 3600.0
_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass
class DownloadOffer:
    path: str          # absolute path of the file
    name: str          # the name the browser saves it under
    offered: float     # time.time() when offered


def folder() -> Path:
    return state_dir() / "colab-downloads"


def offer(path: str | os.PathLike, now: float | None = None) -> str:
    """Offer the file at PATH; returns the token the browser asks for."""
    now = time.time() if now is None else now
    where = folder()
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(where, now)
    token = secrets.token_urlsafe(18)
    file = Path(path).absolute()
    write_record(where / f"{token}.json", KIND, VERSION, DownloadOffer(str(file), file.name, now), mode=0o600)
    return token


def claim(token: str, now: float | None = None) -> DownloadOffer | None:
    """The offer behind TOKEN while it is valid and its file still exists; None otherwise."""
    if not token or not set(token) <= _TOKEN_CHARS:
        return None
    record = read_record(folder() / f"{token}.json", KIND, VERSION, DownloadOffer)
    now = time.time() if now is None else now
    if record is None or now - record.offered > OFFER_SECONDS or not os.path.isfile(record.path):
        return None
    return record


def _sweep(where: Path, now: float) -> None:
    for entry in where.glob("*.json"):
        try:
            if now - entry.stat().st_mtime > OFFER_SECONDS:
                entry.unlink()
        except OSError:
            continue
