"""What a session tells: a warning at 30, 10 and 1 minutes left (each once), its expiry, and the
callbacks that hear them (expiry hooks such as %train's stop, listeners such as the widget)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from .. import units
from ..locale import tr
from .countdown import WARN_AT

__all__ = ["Callbacks", "Marks", "SessionEvent", "expiry", "run_hooks", "warning"]


@dataclass
class SessionEvent:
    kind: str  # "warning", "expired" or "error" (a hook failed)
    seconds_left: float | None
    message: str


def warning(left: float, total: float, on_expire: str) -> SessionEvent:
    return SessionEvent("warning", left, tr(
        "Session: {left} left (limit {limit}, at its end: {on_expire}). Save your work, or extend it: "
        "%session --extend 1h").format(left=units.duration(left), limit=units.duration(total), on_expire=on_expire))


def expiry(total: float, on_expire: str, grace: float, stopped: int) -> SessionEvent:
    """The notice at the limit; STOPPED: how many runs the expiry hooks asked to stop."""
    stop = tr("{n} running job(s) asked to stop and checkpoint. ").format(n=stopped) if stopped else ""
    if on_expire == "shutdown":
        then = tr("The kernel shuts down when the running cell ends (at most {grace} from now) to free the "
                  "GPU.").format(grace=units.duration(grace))
    else:
        then = tr("The kernel keeps running: extend with %session --extend 1h, or restart it to free the GPU.")
    return SessionEvent("expired", 0.0, tr("Session limit of {limit} reached. {stopped}{then}").format(
        limit=units.duration(total), stopped=stop, then=then))


class Marks:
    """Which of WARN_AT's warnings were given: each once, until an extension takes the time left above it."""

    def __init__(self):
        self._given: set[float] = set()

    def crossed(self, left: float) -> bool:
        """Whether LEFT passed a mark not yet warned of (then it and every larger one count as given:
        a late start gives only the nearest warning)."""
        crossed = [t for t in WARN_AT if left <= t and t not in self._given]
        if crossed:
            self._given.update(t for t in WARN_AT if t >= min(crossed))
        return bool(crossed)

    def next_in(self, left: float) -> float:
        """Seconds until the next mark not yet warned of, or until the end."""
        pending = [left - t for t in WARN_AT if t not in self._given and t < left]
        return max(0.0, min(pending + [left]))

    def rearm(self, left: float | None) -> None:
        """Forget the marks above LEFT (all of them without a limit)."""
        self._given = set() if left is None else {t for t in self._given if left <= t}


class Callbacks:
    """Functions to call, added and removed from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._functions: list[Callable] = []

    def add(self, fn: Callable) -> Callable[[], None]:
        """Add fn; returns its remover."""
        with self._lock:
            self._functions.append(fn)

        def remove() -> None:
            with self._lock:
                if fn in self._functions:
                    self._functions.remove(fn)

        return remove

    def now(self) -> list[Callable]:
        """The functions added and not removed, as a list to call outside the lock."""
        with self._lock:
            return list(self._functions)

    def __len__(self) -> int:
        return len(self._functions)


def run_hooks(hooks: list[Callable[[], object]]) -> tuple[int, list[SessionEvent]]:
    """Call each expiry hook; (how many runs they say they stopped, an error event per failure)."""
    stopped, failures = 0, []
    for hook in hooks:
        try:
            said = hook()
        except Exception as err:  # one failing hook must not keep the others from running
            failures.append(SessionEvent("error", 0.0, tr("Session expiry hook {hook!r} failed: {error!r}").format(
                hook=hook, error=err)))
            continue
        if isinstance(said, (bool, int)) and said > 0:  # None (an older hook) counts as nothing stopped
            stopped += int(said)
    return stopped, failures
