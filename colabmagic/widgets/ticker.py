"""Calling a view's refresh every N seconds without blocking the kernel, and stopping it cleanly.

`Ticker` runs the callback on a daemon thread (the kernel's main thread stays free to run cells;
ipywidgets sends the trait updates through the kernel's IOPub thread). `ManualTicker` is the same
interface driven by hand, so widget tests advance time without sleeping.
"""

from __future__ import annotations

import threading
from typing import Callable


class Ticker:
    """fn() every `interval` seconds on a background thread until stop() or fn returns False."""

    def __init__(self, interval: float, fn: Callable[[], object], name: str = "colabmagic-ticker"):
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {interval!r}")
        self.interval = interval
        self.fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.fn() is False:
                self._stop.set()


class ManualTicker:
    """Ticker's interface for tests: tick() calls fn once, as the thread would."""

    def __init__(self, interval: float, fn: Callable[[], object], name: str = ""):
        self.interval, self.fn = interval, fn
        self.started = self.stopped = False

    @property
    def running(self) -> bool:
        return self.started and not self.stopped

    def start(self) -> ManualTicker:
        self.started = True
        return self

    def stop(self) -> None:
        self.stopped = True

    def tick(self, times: int = 1) -> None:
        for _ in range(times):
            if not self.running:
                return
            if self.fn() is False:
                self.stopped = True
