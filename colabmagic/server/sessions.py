"""The session clock seen from the server: status for the toolbar, and enforcement of the limit.

The state itself belongs to `colabmagic.session` (one JSON file per kernel, written atomically);
this module reads it, changes it only through `session.write_state`, and acts when a limit
passes: `warn` marks the session expired for the toolbar, `shutdown` shuts that kernel down.
Idle time comes from Jupyter's own kernel activity tracking, and Jupyter's idle-culling settings
are reported as they are (`MappingKernelManager.cull_*`), not reimplemented.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

from ..errors import ConfigError

__all__ = ["SessionKeeper", "ON_EXPIRE"]

ON_EXPIRE = ("warn", "shutdown")


def _session():
    from .. import session

    return session


class SessionKeeper:
    """Reads, changes and enforces the session state of this server's kernels.

    The blocking methods (file reads and writes) are called in an executor by the handlers;
    `enforce()` is a coroutine the server runs every `interval` seconds.
    """

    def __init__(self, kernel_manager, clock: Callable[[], float] = time.time, log=None):
        self.kernel_manager = kernel_manager
        self.clock = clock  # unix seconds; tests inject their own
        self.log = log
        self.expired: dict[str, float] = {}  # kernel id -> when the limit was seen passed (warn)
        self.shut_down: dict[str, float] = {}  # kernel id -> when we shut it down for its limit

    # ------------------------------------------------------------------ reading

    def culling(self) -> dict:
        km = self.kernel_manager
        return {
            "idle_timeout_seconds": int(getattr(km, "cull_idle_timeout", 0) or 0),  # 0: culling off
            "interval_seconds": int(getattr(km, "cull_interval", 0) or 0),
            "cull_connected": bool(getattr(km, "cull_connected", False)),
            "cull_busy": bool(getattr(km, "cull_busy", False)),
        }

    def kernel_activity(self, kernel_id: str) -> tuple[float | None, str | None]:
        """(last activity in unix seconds, execution state) as Jupyter tracks them."""
        try:
            kernel = self.kernel_manager.get_kernel(kernel_id)
        except KeyError:
            return None, None
        last = getattr(kernel, "last_activity", None)
        if isinstance(last, datetime):
            if last.tzinfo is None:
                last = last.replace(tzinfo=timezone.utc)
            last = last.timestamp()
        return last, getattr(kernel, "execution_state", None)

    def status(self, kernel_id: str, activity: tuple[float | None, str | None] = (None, None)) -> dict:
        """Everything the countdown shows for one kernel. Blocking (reads the state file).
        `activity` is kernel_activity(kernel_id), read on the event loop by the caller."""
        session = _session()
        now = self.clock()
        state = session.read_state(kernel_id)
        jupyter_last, execution_state = activity
        culling = self.culling()
        body = {
            "kernel_id": kernel_id,
            "now": now,
            "started": state is not None,
            "started_at": None,
            "limit_seconds": None,
            "extended_seconds": 0,
            "on_expire": "warn",
            "time_left_seconds": None,
            "expired": False,
            "execution_state": execution_state,
            "last_activity": jupyter_last,
            "idle_seconds": None,
            "cull_in_seconds": None,
            "culling": culling,
        }
        last = jupyter_last
        if state is not None:
            left = session.time_left(state, now)
            body.update(
                started_at=state.get("started_at"),
                limit_seconds=state.get("limit_seconds"),
                extended_seconds=state.get("extended_seconds") or 0,
                on_expire=state.get("on_expire") or "warn",
                time_left_seconds=left,
                expired=left is not None and left <= 0,
            )
            if state.get("last_activity") is not None:
                last = max(last or 0.0, float(state["last_activity"]))
        if last is not None:
            idle = max(0.0, now - last)
            body["last_activity"] = last
            body["idle_seconds"] = idle
            if culling["idle_timeout_seconds"] > 0 and (execution_state != "busy" or culling["cull_busy"]):
                body["cull_in_seconds"] = max(0.0, culling["idle_timeout_seconds"] - idle)
        return body

    # ------------------------------------------------------------------ changing

    def change(self, kernel_id: str, pid: int | None, request: dict) -> dict:
        """Apply one POST body; returns the new status. Blocking. Bad input -> ConfigError.

        {"action": "start", "limit": "12h" | seconds | null, "on_expire": "warn" | "shutdown"}
        {"action": "extend", "seconds": 3600}     {"action": "limit", "limit": ..., "on_expire": ...}
        """
        session = _session()
        if not isinstance(request, dict):
            raise ConfigError("the body must be a JSON object")
        action = request.get("action", "start")
        now = self.clock()
        state = session.read_state(kernel_id)
        if action == "start":
            if state is None:
                state = {"kernel_id": kernel_id, "pid": pid, "started_at": now, "limit_seconds": None,
                         "extended_seconds": 0, "last_activity": now, "on_expire": "warn"}
            self._apply_limit(state, request)
        elif action == "limit":
            if state is None:
                raise ConfigError(f"kernel {kernel_id} has no session yet: POST action 'start' first")
            self._apply_limit(state, request)
        elif action == "extend":
            if state is None:
                raise ConfigError(f"kernel {kernel_id} has no session yet: POST action 'start' first")
            if state.get("limit_seconds") is None:
                raise ConfigError("this session has no limit to extend: set one with action 'limit'")
            seconds = request.get("seconds", 3600)
            if isinstance(seconds, str):
                seconds = session.parse_duration(seconds)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 7 * 86400:
                raise ConfigError(f"extend by a number of seconds between 1 and 604800, not {request.get('seconds')!r}")
            extended = state.get("extended_seconds") or 0.0
            end = state["started_at"] + state["limit_seconds"] + extended
            if now > end:  # expired: count the extension from now, not from the missed end
                extended += now - end
            state["extended_seconds"] = extended + float(seconds)
        else:
            raise ConfigError(f"unknown action {action!r}: use start, extend or limit")
        state["updated_at"] = now
        state["changed_by"] = "server"  # the kernel's Session adopts a change newer than its own write
        session.write_state(state)
        left = session.time_left(state, now)
        if left is None or left > 0:
            self.expired.pop(kernel_id, None)
        return self.status(kernel_id, self.kernel_activity(kernel_id))

    @staticmethod
    def _apply_limit(state: dict, request: dict) -> None:
        session = _session()
        if "limit" in request:  # a new limit counts from the start; the extension is reset (as in Session)
            state["extended_seconds"] = 0.0
            limit = request["limit"]
            if limit in (None, "", "none", 0):
                state["limit_seconds"] = None
            elif isinstance(limit, str):
                state["limit_seconds"] = session.parse_duration(limit)
            elif isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0:
                state["limit_seconds"] = float(limit)
            else:
                raise ConfigError(f"limit must be a duration like '12h' or a number of seconds, not {limit!r}")
        if "on_expire" in request:
            if request["on_expire"] not in ON_EXPIRE:
                raise ConfigError(f"on_expire must be one of {', '.join(ON_EXPIRE)}, not {request['on_expire']!r}")
            state["on_expire"] = request["on_expire"]

    # ------------------------------------------------------------------ enforcing

    def due(self) -> list[tuple[str, str]]:
        """(kernel id, on_expire) of every running kernel whose limit has passed. Blocking."""
        session = _session()
        now = self.clock()
        found = []
        for kernel_id in list(self.kernel_manager.list_kernel_ids()):
            state = session.read_state(kernel_id)
            if state is None:
                continue
            left = session.time_left(state, now)
            if left is not None and left <= 0:
                found.append((kernel_id, state.get("on_expire") or "warn"))
        return found

    async def enforce(self, run_blocking) -> list[str]:
        """One enforcement pass; returns the kernel ids acted on. `run_blocking(fn)` runs fn in
        the executor and awaits it."""
        acted = []
        for kernel_id, action in await run_blocking(self.due):
            if action == "shutdown":
                if self.log:
                    self.log.warning("colabmagic: session limit reached, shutting down kernel %s", kernel_id)
                try:
                    await self._shutdown(kernel_id)
                except KeyError:  # already gone
                    continue
                self.shut_down[kernel_id] = self.clock()
                acted.append(kernel_id)
            elif kernel_id not in self.expired:
                if self.log:
                    self.log.warning("colabmagic: session limit reached for kernel %s (on_expire=warn)", kernel_id)
                self.expired[kernel_id] = self.clock()
                acted.append(kernel_id)
        return acted

    async def _shutdown(self, kernel_id: str) -> None:
        result = self.kernel_manager.shutdown_kernel(kernel_id)
        if hasattr(result, "__await__"):
            await result
