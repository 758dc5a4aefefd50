"""SessionState: one kernel's session as a record, the rules that change it, and its file.

The kernel's clock (clock.py) and the Jupyter server extension (server/sessions.py) change a
session only through these rules, so the toolbar and %session cannot disagree:
- a limit is a duration more than 0 and at most a year, or None (no limit);
- a new limit counts from the session's start and resets the extension;
- an extension needs a limit, and an expired session's extension counts from now, not from the
  end it missed;
- at the limit the session warns (`warn`) or ends the kernel (`shutdown`), a running cell first
  getting SHUTDOWN_GRACE seconds to stop and checkpoint.

The file is a "colabmagic-session" record (files.py) per kernel, written whole:
`<state dir>/colabmagic-session-<kernel_id>.json`; every read-modify-write, the kernel's and the
server's, holds state_lock(). The kernel and the server may run different colabmagic versions:
version 1 is the fields below; a reader ignores the ones it does not know.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .. import units
from ..errors import ConfigError, shown
from ..files import NewerRecord, locked, read_record, record_fields, state_dir, write_record
from ..locale import mark, tr

__all__ = ["ACTIONS", "DEFAULT_LIMIT", "SHUTDOWN_GRACE", "SessionState", "checked_action", "checked_limit",
           "parse_limit", "read_state", "state_lock", "state_path", "write_state"]

DEFAULT_LIMIT = 12 * 3600.0  # seconds, Colab's longest session
ACTIONS = ("warn", "shutdown")
SHUTDOWN_GRACE = 120.0  # seconds a running cell gets to stop and checkpoint before a shutdown
MOST_EXTENDED = 1e10  # seconds: what a record may hold, however often a session is extended
MOST_TIME = 1e11  # unix seconds (year 5138): a time beyond is no time a clock gave
NO_LIMIT = mark("this session has no limit to extend: set one with %session --limit 2h")

RECORD = "colabmagic-session"
VERSION = 1


def parse_limit(text) -> float | None:
    """A limit as typed: '90m', '2h', '1h30m' or seconds -> seconds; 'none' -> None (no limit)."""
    if isinstance(text, str) and text.strip().lower().replace(" ", "") == "none":
        return None
    return units.parse_duration(text, hint=limit_help())


def limit_help() -> str:
    """How to write a limit, in the user's language (the end of every limit error)."""
    return tr("{durations} (or none for no limit)").format(durations=tr(units.DURATION_HELP))


def checked_limit(limit) -> float | None:
    """A limit given as a value (seconds, a text, or None): seconds or None; else ConfigError."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (str, int, float)):
        raise ConfigError(tr("a session limit must be a duration > 0 or none, not {value!r}: {help}").format(
            value=shown(limit, 40), help=limit_help()))
    return parse_limit(limit)


def checked_action(action) -> str:
    """What happens at the limit: 'warn' or 'shutdown' (any case); else ConfigError."""
    action = str(action).strip().lower()
    if action not in ACTIONS:
        raise ConfigError(tr("Unknown expiry action {action!r}: use warn or shutdown").format(action=action))
    return action


@dataclass(frozen=True)
class SessionState:
    """One kernel's session, as its state file holds it. Unix seconds throughout."""

    kernel_id: str
    started_at: float                    # the kernel's start: the limit counts from here
    pid: int | None = None               # the kernel's process (None: the server started the clock)
    limit_seconds: float | None = None   # None: no limit
    extended_seconds: float = 0.0
    last_activity: float | None = None   # the last cell's start
    on_expire: str = "warn"              # one of ACTIONS
    updated_at: float | None = None
    busy: bool = False                   # a cell was running
    expired: bool = False                # the kernel's clock has run its expiry
    notice: str | None = None            # the last warning or expiry notice, for the toolbar
    notice_at: float | None = None
    changed_by: str | None = None        # "kernel" or "server": a kernel takes in what the server wrote

    def __post_init__(self) -> None:
        # A record anyone may have written: a wrong type or an out-of-range value makes it no record
        # (ValueError, which read_record answers with None), so a bad file stops no clock.
        if self.extended_seconds is None:  # older writers allowed it
            object.__setattr__(self, "extended_seconds", 0.0)
        checks = {
            "kernel_id": isinstance(self.kernel_id, str) and bool(self.kernel_id),
            "started_at": _number(self.started_at, 0.0, MOST_TIME),
            "pid": self.pid is None or (isinstance(self.pid, int) and not isinstance(self.pid, bool)),
            "limit_seconds": self.limit_seconds is None or _number(self.limit_seconds, 1e-9, units.YEAR),
            "extended_seconds": _number(self.extended_seconds, 0.0, MOST_EXTENDED),
            "last_activity": self.last_activity is None or _number(self.last_activity, 0.0, MOST_TIME),
            "on_expire": self.on_expire in ACTIONS,
            "updated_at": self.updated_at is None or _number(self.updated_at, -MOST_TIME, MOST_TIME),
            "busy": isinstance(self.busy, bool),
            "expired": isinstance(self.expired, bool),
            "notice": self.notice is None or isinstance(self.notice, str),
            "notice_at": self.notice_at is None or _number(self.notice_at, -MOST_TIME, MOST_TIME),
            "changed_by": self.changed_by is None or isinstance(self.changed_by, str),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"a session state with a bad {', '.join(bad)}")

    @classmethod
    def from_values(cls, values) -> SessionState | None:
        """The state in a JSON object (a kernel's answer, say); None when it is none."""
        if not isinstance(values, dict):
            return None
        try:
            return cls(**record_fields(cls, values))
        except (TypeError, ValueError):
            return None

    # ----- reading

    @property
    def ends_at(self) -> float | None:
        if self.limit_seconds is None:
            return None
        return self.started_at + self.limit_seconds + self.extended_seconds

    @property
    def total_seconds(self) -> float | None:
        """The limit with its extension; None without a limit."""
        return None if self.limit_seconds is None else self.limit_seconds + self.extended_seconds

    def time_left(self, now: float) -> float | None:
        """Seconds left at NOW (0 once the limit passed); None without a limit."""
        end = self.ends_at
        return None if end is None else max(0.0, end - now)

    def past_limit(self, now: float) -> bool:
        left = self.time_left(now)
        return left is not None and left <= 0

    # ----- the rules: each returns a new state, or raises ConfigError and changes nothing

    def with_limit(self, limit) -> SessionState:
        """A new limit counted from the start (None: no limit); the extension is reset."""
        return dataclasses.replace(self, limit_seconds=checked_limit(limit), extended_seconds=0.0)

    def with_on_expire(self, action) -> SessionState:
        return dataclasses.replace(self, on_expire=checked_action(action))

    def extended(self, seconds, now: float) -> SessionState:
        """The end pushed back by SECONDS; an expired session's extension counts from NOW."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
            raise ConfigError(tr("extend by a duration > 0, not {value!r}: {help}").format(
                value=seconds, help=limit_help()))
        if self.limit_seconds is None:
            raise ConfigError(tr(NO_LIMIT))
        missed = max(0.0, now - self.ends_at)
        extended = self.extended_seconds + missed + float(seconds)
        if extended > MOST_EXTENDED:
            raise ConfigError(tr("a session cannot be extended by more than {seconds:.0f} s in all: "
                                 "set a new limit with %session --limit").format(seconds=MOST_EXTENDED))
        return dataclasses.replace(self, extended_seconds=extended)

    def changed(self, changes: Mapping, now: float) -> SessionState:
        """CHANGES (keys limit, on_expire, extend; each optional) applied in that order, all or none."""
        unknown = set(changes) - {"limit", "on_expire", "extend"}
        if unknown:
            raise ConfigError(tr("unknown session change {name!r}: use limit, on_expire or extend").format(
                name=sorted(unknown)[0]))
        state = self
        if "limit" in changes:
            state = state.with_limit(changes["limit"])
        if "on_expire" in changes:
            state = state.with_on_expire(changes["on_expire"])
        if "extend" in changes:
            state = state.extended(changes["extend"], now)
        return state


def _number(value, least: float, most: float) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and least <= value <= most


# ---------------------------------------------------------------- the file


def state_path(kernel_id: str) -> Path:
    if not kernel_id or not re.fullmatch(r"[\w.-]+", kernel_id):
        raise ConfigError(tr("kernel id {kernel_id!r} cannot name a state file (letters, digits, -, _ and . "
                             "only)").format(kernel_id=kernel_id))
    return state_dir() / f"colabmagic-session-{kernel_id}.json"


def state_lock():
    """Held around every read-modify-write of a state file, by a kernel's clock and by the server
    extension alike: two processes writing one file need a lock both can see. One lock file for the
    folder (never removed: removing a lock file is a race of its own)."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return locked(folder / "colabmagic-sessions.lock")


def read_state(kernel_id: str) -> SessionState | None:
    """The state last written for a kernel; None when there is none or it cannot be one (not a
    regular file, not JSON, a field of the wrong type or out of range, another kernel's): a bad
    file is ignored like a missing one, so it can stop neither this kernel's clock nor the server's
    enforcement of the others."""
    try:
        state = read_record(state_path(kernel_id), RECORD, VERSION, SessionState)
    except NewerRecord:
        return None  # a newer colabmagic's session: not ours to read or change
    return state if state is not None and state.kernel_id == kernel_id else None


def write_state(state: SessionState) -> Path:
    """Write STATE whole or not at all; returns the path."""
    path = state_path(state.kernel_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_record(path, RECORD, VERSION, state)
    return path
