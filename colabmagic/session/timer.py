"""The session's background timer: the kernel never waits on it.

It wakes when the clock's next warning or its end is due and calls check(); it writes activity
at most every WRITE_EVERY seconds (no fsync per cell), and looks every WATCH_EVERY seconds (one
stat) for a change the server wrote to the state file.
"""

from __future__ import annotations

import threading

__all__ = ["SessionTimer"]

WRITE_EVERY = 1.0  # seconds: activity is written at most this often
WATCH_EVERY = 2.0  # seconds between looks for a change the server wrote


class SessionTimer:
    def __init__(self, session):
        self.session = session  # a Session: its next_due(), check() and state file
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopping

    def start(self) -> None:
        """Start the thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="colabmagic-session", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def wake(self) -> None:
        """Look again now: something changed (a cell started, a limit was set)."""
        self._wake.set()

    def _run(self) -> None:
        session, file = self.session, self.session.file
        while not self._stopping:
            due = session.next_due()
            wait = WATCH_EVERY if due is None else min(WATCH_EVERY, due + 0.01)
            if file.dirty:
                wait = min(wait, WRITE_EVERY)
            self._wake.wait(max(0.01, wait))
            self._wake.clear()
            if self._stopping:
                return
            since = session.clock() - file.written_at
            if file.dirty and since < WRITE_EVERY:
                self._wake.wait(WRITE_EVERY - since)  # debounce activity writes
                self._wake.clear()
            session.adopt_server_change()
            session.check()
