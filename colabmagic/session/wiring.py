"""This kernel's one session, and its wiring into IPython's cell events.

Whoever starts it (`%session`, or the Jupyter server extension's silent execute, see
server/sessions.py), `start()` connects the shell's pre_run_cell/post_run_cell to it, once per
shell. IPython is never imported here: the shell is this process's, when it runs one.
"""

from __future__ import annotations

import atexit
import sys
import threading

from .clock import Session

__all__ = ["apply", "current", "end", "start", "wire_cell_events"]

_current: Session | None = None
_current_lock = threading.Lock()


def current() -> Session | None:
    """This kernel's session, None when none was started."""
    return _current


def start(**options) -> Session:
    """This kernel's session, created and started on the first call (options as for Session).

    Later calls return the running session unchanged; change it with apply(). In an IPython
    shell, its cell events are connected (see wire_cell_events).
    """
    global _current
    with _current_lock:
        if _current is None:
            _current = Session(**options).start()
            atexit.register(_forget_at_exit, _current)
        session = _current
    wire_cell_events()
    return session


def apply(session: Session, **changes) -> Session:
    """Apply changes (limit, on_expire, extend) to SESSION, all or none: what the server's silent
    execute calls in the kernel (so its name and arguments stay as they are across versions)."""
    return session.apply(changes)


def end() -> None:
    """Stop this kernel's session and remove its state file (current() is None after)."""
    global _current
    with _current_lock:
        session, _current = _current, None
    if session is not None:
        session.stop()


def wire_cell_events(shell=None) -> bool:
    """Connect an IPython shell's cell events to this kernel's session, once per shell: idle time
    and `busy` (a running cell's shutdown grace) come from them. The shell is this process's
    (get_ipython()) when not given; none, and IPython never imported: nothing to do, False."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return False
    if not getattr(shell, "_colabmagic_session_wired", False):
        shell.events.register("pre_run_cell", _cell_started)
        shell.events.register("post_run_cell", _cell_finished)
        shell._colabmagic_session_wired = True
    return True


# the callbacks follow whichever session is current (one may end and another start)
def _cell_started(*_info) -> None:
    if _current is not None:
        _current.cell_started()


def _cell_finished(*_result) -> None:
    if _current is not None:
        _current.cell_finished()


def _forget_at_exit(session: Session) -> None:
    session.stop(remove_state=True)
