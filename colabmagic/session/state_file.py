"""The kernel's side of its session's state file: written whole from the clock's snapshot, and a
change the Jupyter server (the toolbar) wrote since is taken in first, never written over.

A failed write (a full disk, a read-only folder) is said once and tried again at the next one:
saving must not stop for good, or the kernel would stop seeing the toolbar's changes.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

from ..files import STATE_ENV
from ..locale import tr
from .state import read_state, state_lock, state_path, write_state

__all__ = ["StateFile"]


class StateFile:
    """One Session's state file (nothing is written when `persist` is false)."""

    def __init__(self, session, *, notify, persist: bool = True):
        self.session = session  # a Session: its kernel_id, clock, snapshot() and take_terms()
        self.notify = notify
        self.persist = persist
        self.dirty = True  # the session changed since the last write
        self.written_at = float("-inf")  # the session clock's time of the last write
        self._stamp = None  # (mtime_ns, size, inode) of the file as we last wrote or read it
        self._unsaved = False  # the last write failed (and was said)
        self._write_lock = threading.Lock()  # one writer at a time in this process

    def flush(self, now: float | None = None) -> Path | None:
        """Write the session's state now; None when not persisted or the write failed."""
        if not self.persist:
            return None
        session = self.session
        try:
            # one writer at a time, in this process and across processes (the server extension
            # writes the same file), and what the server wrote since our last write is taken in first
            with self._write_lock, state_lock():
                self._adopt()
                now = session.clock() if now is None else now
                self.dirty = False
                self.written_at = now
                path = write_state(dataclasses.replace(session.snapshot(now), changed_by="kernel"))
                self._stamp = _stamp(path)
                self._unsaved = False
                return path
        except OSError as err:
            if not self._unsaved:
                self.notify(tr("Session state not saved ({error}); set {variable} to a writable folder").format(
                    error=err, variable=STATE_ENV))
            self._unsaved = self.dirty = True
            return None

    def adopt_server_change(self) -> bool:
        """Take the limit, extension and action from the file when the Jupyter server changed them
        after our last write ("changed_by": "server"). One stat when nothing changed. Returns
        whether something was adopted."""
        if not self.persist:
            return False
        with self._write_lock:
            return self._adopt()

    def remove(self) -> None:
        if not self.persist:
            return
        try:
            state_path(self.session.kernel_id).unlink(missing_ok=True)
        except OSError:
            pass

    def _adopt(self) -> bool:
        path = state_path(self.session.kernel_id)
        if _stamp(path) == self._stamp:
            return False
        state = read_state(self.session.kernel_id)  # a malformed change reads as none: ours stays
        self._stamp = _stamp(path)
        if state is None or state.changed_by != "server":
            return False
        self.session.take_terms(state)
        return True


def _stamp(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino
