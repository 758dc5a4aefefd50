"""Stopping a run at its next step boundary: the first signal (kernel interrupt, Ctrl-C, a worker's
SIGTERM) or request_stop() from any thread asks; the loop checkpoints and ends as an interrupt does.
A second signal interrupts at once."""

from __future__ import annotations

import contextlib
import signal
import threading

from ..locale import mark


class StopRequest:
    """Set by the first SIGINT (kernel interrupt, Ctrl-C), a worker's SIGTERM or request_stop()."""

    def __init__(self):
        self.requested = False
        self.signals = 0
        self.reason = mark("interrupted")   # what the stop message says: "interrupted", "stopped (session expired)"


_RUNNING: set[StopRequest] = set()   # the stop requests of every fit() and launch() running in this process
_RUNNING_LOCK = threading.Lock()


def request_stop(reason: str = mark("stopped")) -> int:
    """Ask every run in this process (a fit(), or a `devices=N` launch waiting for its workers) to stop
    at its next step boundary, checkpoint and end as an interrupt does (TrainingInterrupted with the
    resume options and `reason` in its message). Safe from any thread, e.g. a session-expiry timer.
    Returns how many runs were asked."""
    with _RUNNING_LOCK:
        for stop in _RUNNING:
            stop.reason = reason
            stop.requested = True
        return len(_RUNNING)


@contextlib.contextmanager
def registered(stop: StopRequest):
    """While the block runs, request_stop() reaches `stop`."""
    with _RUNNING_LOCK:
        _RUNNING.add(stop)
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(stop)


@contextlib.contextmanager
def deferred(stop: StopRequest, signals: tuple[int, ...]):
    """The first signal asks for a stop at the next step boundary, where the run is consistent and
    can be checkpointed; a second one interrupts at once. Only the main thread can catch signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop.signals += 1
        if stop.signals > 1:
            raise KeyboardInterrupt
        stop.requested = True

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
