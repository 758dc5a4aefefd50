"""Telling live views that the user interrupted the kernel (the stop button, or Ctrl-C).

A kernel is interrupted in two states, and each is seen differently:
- while a cell runs: the cell ends with KeyboardInterrupt, which IPython's post_run_cell sees;
- while idle: ipykernel ignores SIGINT between requests (SIG_IGN). It restores, after each request,
  the handler it found before it (`kernel.saved_sigint_handler`); putting ours there makes an idle
  interrupt reach us too. Our handler otherwise behaves like the one it replaced.
Plain IPython (no kernel) has only the first kind.
"""

from __future__ import annotations

import signal
from typing import Callable

_callbacks: list[Callable[[], object]] = []
_installed: dict = {}


def on_interrupt(shell, fn: Callable[[], object]) -> Callable[[], None]:
    """Call fn() the next times the kernel is interrupted; returns the function that unregisters it."""
    _install(shell)
    _callbacks.append(fn)

    def remove() -> None:
        if fn in _callbacks:
            _callbacks.remove(fn)
        if not _callbacks:
            _uninstall()

    return remove


def _fire() -> None:
    for fn in list(_callbacks):
        try:
            fn()
        except Exception:
            pass  # a view that is already gone


def _after_cell(result) -> None:
    if isinstance(getattr(result, "error_in_exec", None), KeyboardInterrupt):
        _fire()


def _idle_handler(signum, frame) -> None:
    _fire()
    previous = _installed.get("previous")
    if callable(previous) and previous is not signal.default_int_handler:
        previous(signum, frame)


def _install(shell) -> None:
    if _installed:
        return
    shell.events.register("post_run_cell", _after_cell)
    _installed["shell"] = shell
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and hasattr(kernel, "saved_sigint_handler"):
        _installed["previous"] = kernel.saved_sigint_handler
        kernel.saved_sigint_handler = _idle_handler
        _installed["kernel"] = kernel


def _uninstall() -> None:
    shell = _installed.pop("shell", None)
    if shell is not None:
        try:
            shell.events.unregister("post_run_cell", _after_cell)
        except ValueError:
            pass
    kernel = _installed.pop("kernel", None)
    previous = _installed.pop("previous", None)
    if kernel is not None and kernel.saved_sigint_handler is _idle_handler:
        kernel.saved_sigint_handler = previous
