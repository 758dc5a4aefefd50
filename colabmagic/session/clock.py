"""The session clock: Colab's limit on a runtime's life, for a local kernel.

A Session counts from the kernel's start. It has a limit (12 h by default, like Colab; `none`
disables it) that `extend()` pushes back, tracks idle time (a cell's start is activity), warns at
30, 10 and 1 minutes left, and at the limit runs its expiry hooks (`%train` stops at the next step
and checkpoints) and then either only warns (`warn`, the default) or ends the kernel to free the
GPU (`shutdown`, the reason Colab has the limit).

`check(now)` is the whole logic; the timer (timer.py) calls it when something is due, and the
state file (state_file.py) is written from `snapshot()`. Every time-dependent method takes `now`,
and a Session takes a `clock`, so tests need no sleeping. Plain Python: IPython is never imported.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Mapping

from .countdown import Countdown
from .events import Callbacks, Marks, SessionEvent, expiry, run_hooks, warning
from .kernel import end_kernel, kernel_started_at, this_kernel_id
from .state import DEFAULT_LIMIT, SHUTDOWN_GRACE, SessionState, checked_action, checked_limit
from .state_file import StateFile
from .timer import SessionTimer

__all__ = ["Session"]


def _field(name: str) -> property:
    return property(lambda self: getattr(self._state, name), doc=f"SessionState.{name}, now")


class Session:
    """One kernel's session clock over a SessionState (whose rules it changes by). See the module docstring."""

    def __init__(self, *, limit: float | None = DEFAULT_LIMIT, on_expire: str = "warn",
                 kernel_id: str | None = None, started_at: float | None = None,
                 clock: Callable[[], float] = time.time, notify: Callable[[str], None] | None = None,
                 shutdown: Callable[[], None] | None = None, grace: float = SHUTDOWN_GRACE,
                 persist: bool = True):
        self.clock = clock
        self._state = SessionState(
            kernel_id=kernel_id or this_kernel_id(), pid=os.getpid(),
            started_at=kernel_started_at() if started_at is None else started_at,
            limit_seconds=checked_limit(limit), on_expire=checked_action(on_expire), changed_by="kernel")
        # activity changes with every cell: plain attributes (no lock, no new state), put in at each write
        self.last_activity = clock()
        self.busy = False  # a cell is running
        self.grace = grace
        self._notify = notify or _print_notice
        self._shutdown = shutdown or end_kernel
        self._hooks = Callbacks()  # called at the expiry
        self._listeners = Callbacks()  # told every event
        self._marks = Marks()
        self._lock = threading.RLock()  # guards the state; never held across a file write or a hook
        self._idle = threading.Event()  # no cell runs: a shutdown waits for it
        self._idle.set()
        self.file = StateFile(self, notify=self._notify, persist=persist)
        self.timer = SessionTimer(self)
        self._rearm(self.clock())

    kernel_id = _field("kernel_id")
    started_at = _field("started_at")
    limit_seconds = _field("limit_seconds")
    extended_seconds = _field("extended_seconds")
    on_expire = _field("on_expire")
    expired = _field("expired")  # the expiry has run (until an extension or a new limit)

    @property
    def persist(self) -> bool:
        return self.file.persist

    # ----- reading the clock

    def time_left(self, now: float | None = None) -> float | None:
        """Seconds left (0 once expired); None without a limit."""
        return self._state.time_left(self.clock() if now is None else now)

    def elapsed(self, now: float | None = None) -> float:
        return max(0.0, (self.clock() if now is None else now) - self.started_at)

    def idle_seconds(self, now: float | None = None) -> float:
        """Seconds since the last cell started; 0 while a cell runs."""
        return 0.0 if self.busy else max(0.0, (self.clock() if now is None else now) - self.last_activity)

    def snapshot(self, now: float | None = None) -> SessionState:
        """The state as the state file holds it."""
        return dataclasses.replace(self._state, last_activity=self.last_activity, busy=self.busy,
                                   updated_at=self.clock() if now is None else now)

    def state(self, now: float | None = None) -> dict:
        """snapshot() as JSON values: what the server's silent execute reads back (servers of every
        colabmagic version read this dict)."""
        return dataclasses.asdict(self.snapshot(now))

    def countdown(self, now: float | None = None) -> Countdown:
        now = self.clock() if now is None else now
        state = self._state
        return Countdown(left=state.time_left(now), total=state.total_seconds, expired=state.expired,
                         elapsed=self.elapsed(now), idle=self.idle_seconds(now), on_expire=state.on_expire)

    # ----- changing it (SessionState's rules: all or nothing)

    def apply(self, changes: Mapping, now: float | None = None) -> Session:
        """Apply changes (limit, then on_expire, then extend), all or none; saved at once. Warnings re-arm."""
        with self._lock:
            now = self.clock() if now is None else now
            self._state = self._state.changed(changes, now)
            self._rearm(now)
        self.file.dirty = True
        if self.timer.running:  # a user's change: written at once, the toolbar shows it
            self.flush(now)
        self.timer.wake()
        return self

    def extend(self, seconds: float, now: float | None = None) -> float | None:
        """Push the limit back by `seconds`; returns the time left."""
        now = self.clock() if now is None else now
        return self.apply({"extend": seconds}, now).time_left(now)

    def set_limit(self, seconds: float | None, now: float | None = None) -> None:
        """A new limit counted from the session's start (None: no limit); the extension is reset."""
        self.apply({"limit": seconds}, now)

    def set_on_expire(self, action: str) -> None:
        self.apply({"on_expire": action})

    def take_terms(self, state: SessionState) -> None:
        """Adopt the limit, extension and action of STATE (what the server wrote)."""
        with self._lock:
            self._state = dataclasses.replace(self._state, limit_seconds=state.limit_seconds,
                                              extended_seconds=state.extended_seconds, on_expire=state.on_expire)
            self._rearm(self.clock())
        self.file.dirty = True

    def add_expiry_hook(self, fn: Callable[[], object]) -> Callable[[], None]:
        """Call fn() when the session expires (e.g. %train's stop); returns its remover.

        fn returns what it stopped: a truthy int (how many runs) or True (one); None, 0 or False
        when nothing was running. The expiry notice counts what the hooks returned.
        """
        return self._hooks.add(fn)

    def add_listener(self, fn: Callable[[SessionEvent], object]) -> Callable[[], None]:
        """fn(event) for every warning and the expiry (the %session widget shows them)."""
        return self._listeners.add(fn)

    # ----- cell events (IPython's pre_run_cell / post_run_cell, wired by wiring.py)

    def cell_started(self, now: float | None = None) -> None:
        self.last_activity = self.clock() if now is None else now
        self.busy = True
        self._idle.clear()
        self.file.dirty = True
        self.timer.wake()  # the timer writes it, debounced: the cell does not wait for a file

    def cell_finished(self, now: float | None = None) -> None:
        self.busy = False
        self._idle.set()
        self.file.dirty = True
        self.timer.wake()

    # ----- the logic

    def check(self, now: float | None = None) -> list[SessionEvent]:
        """Fire what is due at `now`: at most one warning, and the expiry (once). Returns the events."""
        now = self.clock() if now is None else now
        events: list[SessionEvent] = []
        with self._lock:
            left = self.time_left(now)
            expired_now = left is not None and left <= 0 and not self.expired
            if expired_now:
                self._state = dataclasses.replace(self._state, expired=True)
                self.file.dirty = True
            elif left is not None and not self.expired and self._marks.crossed(left):
                events.append(warning(left, self._state.total_seconds, self.on_expire))
        if expired_now:
            stopped, failures = run_hooks(self._hooks.now())  # outside the lock: a hook may read the session
            events += [expiry(self._state.total_seconds, self.on_expire, self.grace, stopped)] + failures
        listeners = self._listeners.now()
        for event in events:
            with self._lock:
                self._state = dataclasses.replace(self._state, notice=event.message, notice_at=now)
            self.file.dirty = True
            self._notify(event.message)
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    pass  # a view that went away
        if self.persist and self.file.dirty:
            self.flush(now)
        if expired_now and self.on_expire == "shutdown":
            self._shut_down()
        return events

    def next_due(self, now: float | None = None) -> float | None:
        """Seconds until check() has something to do; None when nothing ever will."""
        left = self.time_left(now)
        return None if left is None or self.expired else self._marks.next_in(left)

    # ----- the file and the timer

    def flush(self, now: float | None = None) -> Path | None:
        """Write the state file now (the timer does this at most every WRITE_EVERY seconds)."""
        return self.file.flush(now)

    def adopt_server_change(self) -> bool:
        """Take in the limit, extension and action the server (the toolbar) wrote since our last write."""
        return self.file.adopt_server_change()

    def start(self) -> Session:
        """Start the background timer (idempotent) and write the state file."""
        self.timer.start()
        self.flush()
        return self

    def stop(self, remove_state: bool = True) -> None:
        """Stop the timer; remove the state file (a kernel without a session has none)."""
        self.timer.stop()
        if remove_state:
            self.file.remove()

    def _rearm(self, now: float) -> None:
        left = self._state.time_left(now)
        self._marks.rearm(left)
        if left is None or left > 0:
            self._state = dataclasses.replace(self._state, expired=False)

    def _shut_down(self) -> None:
        # give a running cell (a %train stopping at its next step) the grace period to end
        self._idle.wait(self.grace)
        self.flush()
        self._shutdown()

    # ----- display

    def __str__(self) -> str:
        return str(self.countdown())

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _print_notice(message: str) -> None:
    print(f"[colabmagic] {message}", file=sys.stderr, flush=True)  # untranslated: a name before a translated message
