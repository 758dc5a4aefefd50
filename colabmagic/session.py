"""The session clock: Colab's limit on a runtime's life, for a local kernel.

A Session counts from the kernel's start. It has a limit (12 h by default, like Colab; `none`
disables it) that `extend()` pushes back, tracks idle time (no cell run: IPython's pre_run_cell
marks activity), warns at 30, 10 and 1 minutes left, and at the limit runs its expiry hooks
(`%train` stops at the next step and checkpoints) and then either only warns (`warn`, the
default) or ends the kernel to free the GPU (`shutdown`, the reason Colab has the limit).

A background thread wakes when the next warning is due; the kernel never waits on it. Every
time-dependent method takes `now`, and a Session takes a `clock`, so tests need no sleeping.

The state lives in a small JSON file per kernel (written whole or not at all, see
files.py) that the Jupyter server extension reads:
`<$COLABMAGIC_STATE_DIR or the Jupyter runtime dir>/colabmagic-session-<kernel_id>.json`.
Plain Python: IPython is never imported here. When this process already runs an IPython shell,
`start()` connects its cell events (pre_run_cell/post_run_cell) to the session, once per shell,
whoever starts it: `%session`, or the Jupyter server extension's silent execute.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .files import STATE_ENV, NewerRecord, decode_record, encode_record, locked, read_small_file, state_dir, write_atomically
from .errors import ConfigError, shown

__all__ = ["DEFAULT_LIMIT", "Session", "SessionEvent", "apply", "current", "end", "format_clock", "format_duration",
           "options_from_text", "parse_duration", "read_state", "start", "state_path", "this_kernel_id", "time_left",
           "wire_cell_events", "write_state"]

DEFAULT_LIMIT = 12 * 3600.0  # seconds, Colab's longest session
WARN_AT = (30 * 60.0, 10 * 60.0, 60.0)  # seconds left at which a warning is given
ACTIONS = ("warn", "shutdown")
SHUTDOWN_GRACE = 120.0  # seconds a running cell gets to stop and checkpoint before a shutdown
SERVER_SHUTDOWN_WAIT = 15.0  # seconds a kernel's Jupyter server gets to shut it down before it exits itself
WRITE_EVERY = 1.0  # seconds: activity is written at most this often (no fsync per cell)
WATCH_EVERY = 2.0  # seconds between looks (one stat) for a change the server wrote to the state file
DURATION_HELP = "use a duration like 90m, 2h or 1h30m (or none for no limit)"

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?")


MAX_DURATION = 366 * 86400.0  # seconds: a limit or extension beyond a year is a typo


def parse_duration(text) -> float | None:
    """'90m', '2h', '1h30m', '45s', '1.5h' -> seconds; 'none' -> None. Anything else: ConfigError."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        spec = str(text).strip().lower().replace(" ", "")
        if spec == "none":
            return None
        match = _DURATION.fullmatch(spec)
        if not spec or not match or not any(match.groups()):
            raise ConfigError(f"Unknown duration {str(text)!r}: {DURATION_HELP}")
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 0 < seconds <= MAX_DURATION:  # also refuses inf and nan (1e400, or 400 nines of hours)
        raise ConfigError(f"A duration must be more than 0 and at most {MAX_DURATION // 86400:.0f} days, "
                          f"not {shown(text, 40)!r}: {DURATION_HELP}")
    return seconds


def format_duration(seconds: float | None) -> str:
    """Seconds -> '1h30m', '10m', '45s'; None -> 'none'."""
    if seconds is None:
        return "none"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs and not hours else ""]
    return "".join(parts) or "0s"


def format_clock(seconds: float | None) -> str:
    """Seconds -> 'H:MM:SS' (the countdown); None -> 'no limit'."""
    if seconds is None:
        return "no limit"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


# ---------------------------------------------------------------- the state file


def state_path(kernel_id: str) -> Path:
    if not kernel_id or not re.fullmatch(r"[\w.-]+", kernel_id):
        raise ConfigError(f"kernel id {kernel_id!r} cannot name a state file (letters, digits, -, _ and . only)")
    return state_dir() / f"colabmagic-session-{kernel_id}.json"


def state_lock():
    """Held around every read-modify-write of a state file, by a kernel's Session and by the server
    extension alike: two processes writing one file need a lock both can see. One lock file for the
    folder (never removed: removing a lock file is a race of its own)."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return locked(folder / "colabmagic-sessions.lock")


def read_state(kernel_id: str) -> dict | None:
    """The state a kernel's session last wrote, checked field by field; None when there is none or
    it cannot be one (not a regular file, not JSON, a field of the wrong type or out of range): a
    bad file is ignored like a missing one, so it can stop neither this kernel's clock nor the
    server's enforcement of the others."""
    try:
        state = decode_record(STATE_RECORD, STATE_VERSION, read_small_file(state_path(kernel_id)))
    except NewerRecord:
        return None  # a newer colabmagic's session: not ours to read or change
    return state if _valid_state(state, kernel_id) else None


def _valid_state(state, kernel_id: str) -> bool:
    if not isinstance(state, dict) or state.get("kernel_id") != kernel_id:
        return False

    def number(key: str, *, optional: bool = False, least: float = 0.0, most: float = 1e11) -> bool:
        value = state.get(key)
        if value is None:
            return optional
        return not isinstance(value, bool) and isinstance(value, (int, float)) and least <= value <= most

    return (number("started_at") and number("limit_seconds", optional=True, least=1e-9, most=MAX_DURATION)
            and number("extended_seconds", optional=True, most=1e10) and number("last_activity", optional=True)
            and state.get("on_expire", "warn") in ("warn", "shutdown")
            and (state.get("pid") is None or (isinstance(state["pid"], int) and not isinstance(state["pid"], bool))))


# The state file is a record (files.py): the kernel and the server extension may run different
# colabmagic versions. Version 1: the fields _valid_state checks (more are ignored).
STATE_RECORD = "colabmagic-session"
STATE_VERSION = 1


def write_state(state: dict) -> Path:
    """Write a state dict (kernel_id required) whole or not at all; returns the path."""
    path = state_path(state["kernel_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_record(STATE_RECORD, STATE_VERSION, state)
    return write_atomically(path, lambda f: f.write(data))


def time_left(state: dict, now: float | None = None) -> float | None:
    """Seconds left in a state dict (0 once expired); None when it has no limit."""
    limit = state.get("limit_seconds")
    if limit is None:
        return None
    now = time.time() if now is None else now
    end = state["started_at"] + limit + (state.get("extended_seconds") or 0.0)
    return max(0.0, end - now)


def this_kernel_id() -> str:
    """This kernel's id (from its connection file, kernel-<id>.json); 'pid-<pid>' outside a kernel."""
    if "ipykernel" in sys.modules:
        try:
            from ipykernel.connect import get_connection_file

            name = Path(get_connection_file()).stem
            return name[len("kernel-"):] if name.startswith("kernel-") else name
        except Exception:  # not running inside a kernel app (a plain IPython that imported ipykernel)
            pass
    return f"pid-{os.getpid()}"


def _process_start() -> float:
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:
        return time.time()


# ---------------------------------------------------------------- the session


@dataclass
class SessionEvent:
    kind: str  # "warning", "expired" or "error" (a hook failed)
    seconds_left: float | None
    message: str


class Session:
    """One kernel's session clock. See the module docstring; `check(now)` is the whole logic,
    the timer thread only calls it when something is due."""

    def __init__(self, *, limit: float | None = DEFAULT_LIMIT, on_expire: str = "warn",
                 kernel_id: str | None = None, started_at: float | None = None,
                 clock: Callable[[], float] = time.time, notify: Callable[[str], None] | None = None,
                 shutdown: Callable[[], None] | None = None, grace: float = SHUTDOWN_GRACE,
                 persist: bool = True):
        self.clock = clock
        self.kernel_id = kernel_id or this_kernel_id()
        self.started_at = _process_start() if started_at is None else started_at
        self.limit_seconds = _checked_limit(limit)
        self.extended_seconds = 0.0
        self.on_expire = _checked_action(on_expire)
        self.last_activity = self.clock()
        self.busy = False  # a cell is running
        self.expired = False
        self.notice: str | None = None
        self.notice_at: float | None = None
        self.grace = grace
        self.persist = persist
        self._notify = notify or _print_notice
        self._shutdown = shutdown or _end_kernel
        self._hooks: list[Callable[[], object]] = []
        self._listeners: list[Callable[[SessionEvent], object]] = []
        self._warned: set[float] = set()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._dirty = True
        self._written_at = float("-inf")
        self._file_stamp = None  # (mtime_ns, size) of the state file as we last wrote or read it
        self._unsaved = False  # the last write failed (and was said)
        self._rearm(self.clock())

    # ----- reading the clock

    @property
    def ends_at(self) -> float | None:
        if self.limit_seconds is None:
            return None
        return self.started_at + self.limit_seconds + self.extended_seconds

    def time_left(self, now: float | None = None) -> float | None:
        """Seconds left (0 once expired); None without a limit."""
        end = self.ends_at
        if end is None:
            return None
        return max(0.0, end - (self.clock() if now is None else now))

    def elapsed(self, now: float | None = None) -> float:
        return max(0.0, (self.clock() if now is None else now) - self.started_at)

    def idle_seconds(self, now: float | None = None) -> float:
        """Seconds since the last cell started; 0 while a cell runs."""
        if self.busy:
            return 0.0
        return max(0.0, (self.clock() if now is None else now) - self.last_activity)

    def state(self, now: float | None = None) -> dict:
        """The JSON the state file holds (the keys the server extension reads)."""
        now = self.clock() if now is None else now
        return {
            "kernel_id": self.kernel_id, "pid": os.getpid(), "started_at": self.started_at,
            "limit_seconds": self.limit_seconds, "extended_seconds": self.extended_seconds,
            "last_activity": self.last_activity, "on_expire": self.on_expire, "updated_at": now,
            "busy": self.busy, "expired": self.expired,
            # the last warning or expiry notice, for the toolbar to show (None before the first)
            "notice": self.notice, "notice_at": self.notice_at,
        }

    # ----- changing it

    def extend(self, seconds: float, now: float | None = None) -> float | None:
        """Push the limit back by `seconds`; returns the time left. Warnings re-arm."""
        if not (isinstance(seconds, (int, float)) and seconds > 0):
            raise ConfigError(f"extend by a duration > 0, not {seconds!r}: {DURATION_HELP}")
        with self._lock:
            if self.limit_seconds is None:
                raise ConfigError("this session has no limit to extend: set one with %session --limit 2h")
            now = self.clock() if now is None else now
            if self.expired:  # count the extension from now, not from the missed end
                self.extended_seconds += max(0.0, now - self.ends_at)
            self.extended_seconds += float(seconds)
            self._changed(now)
            return self.time_left(now)

    def set_limit(self, seconds: float | None, now: float | None = None) -> None:
        """A new limit counted from the session's start (None: no limit); the extension is reset."""
        with self._lock:
            self.limit_seconds = _checked_limit(seconds)
            self.extended_seconds = 0.0
            self._changed(self.clock() if now is None else now)

    def set_on_expire(self, action: str) -> None:
        with self._lock:
            self.on_expire = _checked_action(action)
            self._changed(self.clock())

    def add_expiry_hook(self, fn: Callable[[], object]) -> Callable[[], None]:
        """Call fn() when the session expires (e.g. %train's stop); returns its remover.

        fn returns what it stopped: a truthy int (how many runs) or True (one); None, 0 or False
        when nothing was running. The expiry notice counts what the hooks returned.
        """
        with self._lock:
            self._hooks.append(fn)

        def remove() -> None:
            with self._lock:
                if fn in self._hooks:
                    self._hooks.remove(fn)

        return remove

    def add_listener(self, fn: Callable[[SessionEvent], object]) -> Callable[[], None]:
        """fn(event) for every warning and the expiry (the %session widget shows them)."""
        with self._lock:
            self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    # ----- cell events (IPython's pre_run_cell / post_run_cell, wired by start())

    def cell_started(self, now: float | None = None) -> None:
        self.last_activity = self.clock() if now is None else now
        self.busy = True
        self._idle.clear()
        self._dirty = True
        self._wake.set()  # the timer writes it, debounced: the cell does not wait for a file

    def cell_finished(self, now: float | None = None) -> None:
        self.busy = False
        self._idle.set()
        self._dirty = True
        self._wake.set()

    # ----- the logic

    def check(self, now: float | None = None) -> list[SessionEvent]:
        """Fire what is due at `now`: at most one warning, and the expiry (once). Returns the events."""
        now = self.clock() if now is None else now
        with self._lock:
            left = self.time_left(now)
            events = []
            expired_now = False
            if left is not None and not self.expired:
                if left <= 0:
                    self.expired = True
                    self._dirty = True
                    expired_now = True
                else:
                    crossed = [t for t in WARN_AT if left <= t and t not in self._warned]
                    if crossed:
                        self._warned.update(t for t in WARN_AT if t >= min(crossed))
                        events.append(SessionEvent("warning", left, (
                            f"Session: {format_duration(left)} left (limit {format_duration(self.limit_seconds + self.extended_seconds)}"
                            f", at its end: {self.on_expire}). Save your work, or extend it: %session --extend 1h")))
            hooks = list(self._hooks) if expired_now else []
            listeners = list(self._listeners)
        if expired_now:
            stopped, failures = _run_hooks(hooks)  # outside the lock: a hook may read the session
            events += [self._expiry_event(stopped)] + failures
        for event in events:
            self.notice, self.notice_at, self._dirty = event.message, now, True
            self._notify(event.message)
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    pass  # a view that went away
        if self.persist and self._dirty:
            self.flush(now)
        if expired_now and self.on_expire == "shutdown":
            self._shut_down()
        return events

    def next_due(self, now: float | None = None) -> float | None:
        """Seconds until check() has something to do; None when nothing ever will."""
        left = self.time_left(self.clock() if now is None else now)
        if left is None or self.expired:
            return None
        pending = [left - t for t in WARN_AT if t not in self._warned and t < left]
        return max(0.0, min(pending + [left]))

    def flush(self, now: float | None = None) -> Path | None:
        """Write the state file now (the timer does this at most every WRITE_EVERY seconds)."""
        if not self.persist:
            return None
        # one writer at a time, in this process and across processes (the server extension writes the
        # same file), and a change the server wrote since our last write is taken in first, never
        # written over. self._lock first, as every other path takes it: one order, no deadlock.
        try:
            with self._lock, state_lock():
                self.adopt_server_change()
                now = self.clock() if now is None else now
                self._dirty = False
                self._written_at = now
                path = write_state({**self.state(now), "changed_by": "kernel"})
                self._file_stamp = _stamp(path)
                self._unsaved = False
                return path
        except OSError as err:
            # Said once, and tried again at the next write: a full disk passes, and saving must not stop
            # for good, or the kernel would stop seeing the toolbar's changes.
            if not self._unsaved:
                self._notify(f"Session state not saved ({err}); set {STATE_ENV} to a writable folder")
            self._unsaved = self._dirty = True
            return None

    # ----- the timer

    def start(self) -> Session:
        """Start the background timer (idempotent) and write the state file."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="colabmagic-session", daemon=True)
                self._thread.start()
        self.flush()
        return self

    def stop(self, remove_state: bool = True) -> None:
        """Stop the timer; remove the state file (a kernel without a session has none)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if remove_state and self.persist:
            try:
                state_path(self.kernel_id).unlink(missing_ok=True)
            except OSError:
                pass

    def adopt_server_change(self) -> bool:
        """Take the limit, extension and action from the state file when the Jupyter server
        (the toolbar) changed them after our last write ("changed_by": "server"). One stat when
        nothing changed. Returns whether something was adopted."""
        if not self.persist:
            return False
        path = state_path(self.kernel_id)
        if _stamp(path) == self._file_stamp:
            return False
        state = read_state(self.kernel_id)
        self._file_stamp = _stamp(path)
        if not state or state.get("changed_by") != "server":
            return False
        try:
            limit = _checked_limit(state.get("limit_seconds"))
            extended = float(state.get("extended_seconds") or 0.0)
            action = _checked_action(state.get("on_expire") or self.on_expire)
        except (ConfigError, TypeError, ValueError):
            return False  # a malformed change: keep ours
        with self._lock:
            self.limit_seconds, self.extended_seconds, self.on_expire = limit, extended, action
            self._rearm(self.clock())
            self._dirty = True
        return True

    def _run(self) -> None:
        while not self._stopping:
            due = self.next_due()
            wait = WATCH_EVERY if due is None else min(WATCH_EVERY, due + 0.01)
            if self._dirty:
                wait = min(wait, WRITE_EVERY)
            self._wake.wait(max(0.01, wait))
            self._wake.clear()
            if self._stopping:
                return
            now = self.clock()
            if self._dirty and now - self._written_at < WRITE_EVERY:
                self._wake.wait(WRITE_EVERY - (now - self._written_at))  # debounce activity writes
                self._wake.clear()
            self.adopt_server_change()
            self.check()

    def _changed(self, now: float) -> None:
        """A user's change (limit, extension, action): written at once, the toolbar shows it."""
        self._rearm(now)
        self._dirty = True
        if self._thread is not None:
            self.flush(now)
        self._wake.set()

    def _rearm(self, now: float) -> None:
        left = self.time_left(now)
        if left is None:
            self._warned.clear()
            self.expired = False
            return
        self._warned = {t for t in self._warned if left <= t}
        if left > 0:
            self.expired = False

    def _expiry_event(self, stopped: int) -> SessionEvent:
        stop = f"{stopped} running job(s) asked to stop and checkpoint. " if stopped else ""
        if self.on_expire == "shutdown":
            then = ("The kernel shuts down when the running cell ends (at most "
                    f"{format_duration(self.grace)} from now) to free the GPU.")
        else:
            then = "The kernel keeps running: extend with %session --extend 1h, or restart it to free the GPU."
        total = self.limit_seconds + self.extended_seconds
        return SessionEvent("expired", 0.0, f"Session limit of {format_duration(total)} reached. {stop}{then}")

    def _shut_down(self) -> None:
        # give a running cell (a %train stopping at its next step) the grace period to end
        self._idle.wait(self.grace)
        self.flush()
        self._shutdown()

    # ----- display

    def __str__(self) -> str:
        now = self.clock()
        left = self.time_left(now)
        limit = "no limit" if self.limit_seconds is None else (
            f"{format_clock(left)} left of {format_duration(self.limit_seconds + self.extended_seconds)}")
        state = " (expired)" if self.expired else ""
        return (f"session: {limit}{state}; running {format_duration(self.elapsed(now))}, "
                f"idle {format_duration(self.idle_seconds(now))}; at the limit: {self.on_expire}")

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _run_hooks(hooks) -> tuple[int, list[SessionEvent]]:
    """Call each expiry hook; (how many runs they say they stopped, an error event per failure)."""
    stopped, failures = 0, []
    for hook in hooks:
        try:
            said = hook()
        except Exception as err:  # one failing hook must not keep the others from running
            failures.append(SessionEvent("error", 0.0, f"Session expiry hook {hook!r} failed: {err!r}"))
            continue
        if isinstance(said, (bool, int)) and said > 0:  # None (an older hook) counts as nothing stopped
            stopped += int(said)
    return stopped, failures


def _stamp(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _checked_limit(limit) -> float | None:
    if limit is None:
        return None
    if isinstance(limit, str):
        return parse_duration(limit)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise ConfigError(f"a session limit must be a duration > 0 or none, not {shown(limit, 40)!r}: {DURATION_HELP}")
    return parse_duration(limit)


def _checked_action(action: str) -> str:
    action = str(action).strip().lower()
    if action not in ACTIONS:
        raise ConfigError(f"Unknown expiry action {action!r}: use warn or shutdown")
    return action


def _print_notice(message: str) -> None:
    print(f"[colabmagic] {message}", file=sys.stderr, flush=True)


def _end_kernel() -> None:
    """End this kernel's process: the GPU memory it holds is freed only when the process goes.

    A kernel of a Jupyter server asks the server to shut it down (DELETE /api/kernels/<id>, what
    "Shut Down Kernel" does): a kernel process that just exits is started again by the server's
    auto-restarter. Elsewhere (a terminal, VS Code), or if the server has not ended it within
    SERVER_SHUTDOWN_WAIT seconds, the process ends itself.
    """
    import signal

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if _ask_server_to_shut_down():
        time.sleep(SERVER_SHUTDOWN_WAIT)  # the server's shutdown request ends this process meanwhile
    os.kill(os.getpid(), signal.SIGTERM)


def _ask_server_to_shut_down() -> bool:
    """Whether this kernel's Jupyter server took the request to shut it down."""
    import http.client

    from .jupyter_servers import find_server

    kernel = this_kernel_id()
    if kernel.startswith("pid-"):
        return False
    try:
        server = find_server(kernel)
        if server is None:
            return False
        # the server answers once the kernel is gone: this process may end before the answer comes
        status = server.request("DELETE", f"api/kernels/{kernel}", timeout=SERVER_SHUTDOWN_WAIT)[0]
    except (OSError, http.client.HTTPException):  # a timeout too: the wait is over either way
        return False
    return status in (200, 204)


# ---------------------------------------------------------------- this kernel's session

_current: Session | None = None
_current_lock = threading.Lock()


def current() -> Session | None:
    """This kernel's session, None when none was started."""
    return _current


def start(**options) -> Session:
    """This kernel's session, created and started on the first call (options as for Session).

    Later calls return the running session unchanged; change it with its methods. In an IPython
    shell, its cell events are connected (see wire_cell_events).
    """
    global _current
    with _current_lock:
        if _current is None:
            import atexit

            _current = Session(**options).start()
            atexit.register(_forget_at_exit, _current)
        session = _current
    wire_cell_events()
    return session


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


def options_from_text(*, limit: str | None = None, extend: str | None = None,
                      on_expire: str | None = None) -> dict:
    """The magic's texts checked all at once, so a bad one changes nothing. Keys present only
    for what was given; "limit" may be None (no limit)."""
    out: dict = {}
    if limit is not None:
        out["limit"] = parse_duration(limit)
    if extend is not None:
        seconds = parse_duration(extend)
        if seconds is None:
            raise ConfigError(f"--extend needs a duration like 30m or 1h, not {extend!r}")
        out["extend"] = seconds
    if on_expire is not None:
        out["on_expire"] = _checked_action(on_expire)
    return out


def apply(session: Session, **changes) -> Session:
    """Apply options_from_text's changes (limit, then action, then extend), all or none."""
    limit = changes.get("limit", session.limit_seconds)
    if "extend" in changes and limit is None:
        raise ConfigError("this session has no limit to extend: set one with %session --limit 2h")
    if "limit" in changes:
        session.set_limit(changes["limit"])
    if "on_expire" in changes:
        session.set_on_expire(changes["on_expire"])
    if "extend" in changes:
        session.extend(changes["extend"])
    return session


def end() -> None:
    """Stop this kernel's session and remove its state file (current() is None after)."""
    global _current
    with _current_lock:
        session, _current = _current, None
    if session is not None:
        session.stop()


def _forget_at_exit(session: Session) -> None:
    session.stop(remove_state=True)
