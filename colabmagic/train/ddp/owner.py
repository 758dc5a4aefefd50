"""Who owns a DDP job folder: the process that started the run, as a record (owner.json).

A folder whose owner has died (its kernel was killed) is stale: job.py removes it, and the workers
leave when the owner dies (worker.Lifeline). The owner is a processes.ProcessIdentity, so a reused
pid is no owner.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...files import decode_record, read_small_file, write_record
from ...processes import ProcessIdentity, same_start

OWNER_RECORD = "colabmagic-ddp-owner"
# 2: {pid, start} in clock ticks after boot (processes.py). 1 (no record keys): {pid, started}, the
# start as psutil's create_time in unix seconds: still read, so a run an older colabmagic started
# on this machine is not taken for a stale folder and removed under it.
OWNER_VERSION = 2


class LegacyOwner(ProcessIdentity):
    """A version 1 owner: its start in unix seconds, as psutil's create_time gives it."""

    def alive(self) -> bool:
        return same_start(self.pid, self.start)


def current_owner() -> ProcessIdentity:
    owner = ProcessIdentity.of(os.getpid())
    assert owner is not None  # this process runs
    return owner


def write_owner(folder: Path, owner: ProcessIdentity) -> None:
    write_record(folder / "owner.json", OWNER_RECORD, OWNER_VERSION, owner)


def read_owner(folder: Path) -> ProcessIdentity | None:
    """The folder's owner; None when it has none (being made, or unreadable). NewerRecord when a
    newer colabmagic wrote it."""
    values = decode_record(OWNER_RECORD, OWNER_VERSION, read_small_file(folder / "owner.json"))
    return owner_from(values) if values is not None else None


def owner_from(values: dict) -> ProcessIdentity | None:
    """An owner from a record's values, either version (see OWNER_VERSION)."""
    try:
        if "start" in values:
            return ProcessIdentity(int(values["pid"]), int(values["start"]))
        return LegacyOwner(int(values["pid"]), float(values["started"]))
    except (KeyError, TypeError, ValueError):
        return None
