"""The session clock seen from the server: status for the toolbar, and enforcement of the limit.

The state and its rules belong to `colabmagic.session` (SessionState, one record per kernel,
written whole); this module reads it, changes it only by those rules (or, where the kernel runs
its own clock, by a silent execute in that kernel), and acts when a limit passes: `warn` marks the
session expired for the toolbar, `shutdown` shuts that kernel down (a kernel busy with a cell
first gets the grace its own session gives it).
Idle time comes from Jupyter's own kernel activity tracking, and Jupyter's idle-culling settings
are reported as they are (`MappingKernelManager.cull_*`), not reimplemented.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from ..errors import ConfigError
from ..locale import tr
from ..session import ACTIONS, SHUTDOWN_GRACE, SessionState, parse_limit, read_state, state_lock, write_state

__all__ = ["SessionKeeper"]

MOST_EXTEND = 7 * 86400  # seconds one POST may extend by

# the kernel Session's state as JSON, read back in the same execute reply
STATE_EXPRESSION = ("__import__('IPython.display', fromlist=['JSON']).JSON("
                    "__import__('colabmagic.session', fromlist=['current']).current().state())")


def own_client(kernel):
    """A client of `kernel` with a Session object of its own. kernel.client() would share the
    manager's, whose replay protection then drops every broadcast message the second time it is
    seen: this client's or, worse, the browser's websocket's."""
    from jupyter_client.session import Session

    shared = kernel.session
    return kernel.client(session=Session(key=shared.key, signature_scheme=shared.signature_scheme,
                                         username="colabmagic"))


class SessionKeeper:
    """Reads, changes and enforces the session state of this server's kernels.

    The blocking methods (file reads and writes) are called in an executor by the handlers;
    `enforce()` is a coroutine the server runs every `interval` seconds.
    """

    def __init__(self, kernel_manager, clock: Callable[[], float] = time.time, log=None):
        self.kernel_manager = kernel_manager
        self.clock = clock  # unix seconds; tests inject their own
        self.kernel_timeout = 10.0  # seconds an idle kernel gets to apply a change to its Session
        self._write_lock = threading.Lock()
        self.log = log
        self.expired: dict[str, float] = {}  # kernel id -> when the limit was seen passed (warn)
        self.shut_down: dict[str, float] = {}  # kernel id -> when we shut it down for its limit
        self.due_since: dict[str, float] = {}  # kernel id -> when its shutdown was first due

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

    def status(self, kernel_id: str, activity: tuple[float | None, str | None] = (None, None),
               state: SessionState | None = None) -> dict:
        """Everything the countdown shows for one kernel. Blocking (reads the state file, unless
        `state` is given). `activity` is kernel_activity(kernel_id), read on the loop by the caller."""
        now = self.clock()
        if state is None:
            state = read_state(kernel_id)
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
            body.update(
                started_at=state.started_at,
                limit_seconds=state.limit_seconds,
                extended_seconds=state.extended_seconds or 0,
                on_expire=state.on_expire,
                time_left_seconds=state.time_left(now),
                expired=state.past_limit(now),
            )
            if state.last_activity is not None:
                last = max(last or 0.0, float(state.last_activity))
        if last is not None:
            idle = max(0.0, now - last)
            body["last_activity"] = last
            body["idle_seconds"] = idle
            if culling["idle_timeout_seconds"] > 0 and (execution_state != "busy" or culling["cull_busy"]):
                body["cull_in_seconds"] = max(0.0, culling["idle_timeout_seconds"] - idle)
        return body

    # ------------------------------------------------------------------ changing

    @staticmethod
    def parse(request: dict) -> tuple[str, dict]:
        """A POST body -> (action, changes in Session.apply's words: limit, on_expire, extend).
        Bad input -> ConfigError, before anything changes.

        {"action": "start", "limit": "12h" | seconds | null, "on_expire": "warn" | "shutdown"}
        {"action": "extend", "seconds": 3600 | "1h"}    {"action": "limit", "limit": ..., "on_expire": ...}
        """
        if not isinstance(request, dict):
            raise ConfigError(tr("the body must be a JSON object"))
        action = request.get("action", "start")
        changes: dict = {}
        if action in ("start", "limit"):
            if "limit" in request:
                limit = request["limit"]
                if limit in (None, "", "none", 0):
                    changes["limit"] = None
                elif isinstance(limit, (str, int, float)) and not isinstance(limit, bool):
                    changes["limit"] = parse_limit(limit)  # the session's own rule: finite, > 0, <= a year
                else:
                    raise ConfigError(tr("limit must be a duration like '12h' or a number of seconds, not {limit!r}")
                                      .format(limit=limit))
            if "on_expire" in request:
                if request["on_expire"] not in ACTIONS:
                    raise ConfigError(tr("on_expire must be one of {actions}, not {value!r}").format(
                        actions=", ".join(ACTIONS), value=request["on_expire"]))
                changes["on_expire"] = request["on_expire"]
        elif action == "extend":
            seconds = request.get("seconds", 3600)
            if isinstance(seconds, str):
                seconds = parse_limit(seconds)
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MOST_EXTEND:
                raise ConfigError(tr("extend by a number of seconds between 1 and {most}, not {value!r}").format(
                    most=MOST_EXTEND, value=request.get("seconds")))
            changes["extend"] = float(seconds)
        else:
            raise ConfigError(tr("unknown action {action!r}: use start, extend or limit").format(action=action))
        return action, changes

    def change(self, kernel_id: str, pid: int | None, action: str, changes: dict) -> dict:
        """Apply parse()'s result to the state file; returns the new status. Blocking.

        Used where no Session runs in the kernel (the clock was started here) or while the
        kernel is busy; a kernel's own Session adopts the change (changed_by: "server")."""
        # one read-modify-write at a time, here and against the kernel's own Session: no lost update
        with self._write_lock, state_lock():
            return self._change(kernel_id, pid, action, changes)

    def _change(self, kernel_id: str, pid: int | None, action: str, changes: dict) -> dict:
        now = self.clock()
        state = read_state(kernel_id)
        if state is None:
            if action != "start":
                raise ConfigError(tr("kernel {kernel_id} has no session yet: POST action 'start' first").format(
                    kernel_id=kernel_id))
            state = SessionState(kernel_id=kernel_id, pid=pid, started_at=now, last_activity=now)
        state = dataclasses.replace(state.changed(changes, now), updated_at=now, changed_by="server")
        write_state(state)
        self.settled(kernel_id, state, now)
        return self.status(kernel_id, self.kernel_activity(kernel_id))

    def settled(self, kernel_id: str, state: SessionState | None, now: float) -> None:
        """Forget a passed limit once a change pushed it back."""
        if state is None or not state.past_limit(now):
            self.expired.pop(kernel_id, None)

    @staticmethod
    def kernel_owned(state: SessionState | None, pid: int | None) -> bool:
        """Whether the kernel's own Session (the %session magic) wrote this state: then the change
        must happen in that Session, or its next write would undo it."""
        return state is not None and pid is not None and state.pid == pid and state.changed_by != "server"

    @staticmethod
    def kernel_code(changes: dict) -> str:
        """The silent execute that applies `changes` to the kernel's Session. The Session's own
        timer writes the file (a second writer here would race it); STATE_EXPRESSION reads it back."""
        return ("import colabmagic.session as _colabmagic_session\n"
                f"_colabmagic_session.apply(_colabmagic_session.current(), **{changes!r})")

    async def apply(self, kernel_id: str, pid: int | None, request: dict, run_blocking) -> dict:
        """One POST, applied where the session lives. A %session clock in the kernel changes in
        the kernel (its next write would undo a change made only in the file); a new session
        starts in the kernel too, so its warnings and %train's checkpoint-before-expiry work.
        A busy kernel, or one without colabmagic, gets the change in the state file instead.
        Returns the new status. Bad input -> ConfigError; a kernel that does not answer within
        `kernel_timeout` -> TimeoutError (the change still applies when it is free)."""
        action, changes = self.parse(request)
        state = await run_blocking(read_state, kernel_id)
        _, execution_state = self.kernel_activity(kernel_id)
        code = None
        if execution_state == "idle":
            if self.kernel_owned(state, pid):
                code = self.kernel_code(changes)
            elif state is None and action == "start" and pid is not None:
                code = self.start_code(changes)
        if self.log:
            self.log.info("colabmagic: session %s %s for kernel %s (%s, state by %s)", action, changes,
                          kernel_id, execution_state,
                          "nobody" if state is None else state.changed_by or "the kernel")
        if code is not None:
            content = await self._execute(kernel_id, code)
            result = (content.get("user_expressions") or {}).get("state") or {}
            if content.get("status") == "ok" and result.get("status") == "ok":
                state = SessionState.from_values(result["data"].get("application/json"))
                self.settled(kernel_id, state, self.clock())
                return await run_blocking(self.status, kernel_id, self.kernel_activity(kernel_id), state)
            if content.get("ename") == "ConfigError":
                raise ConfigError(content.get("evalue"))
            if content.get("ename") not in ("ModuleNotFoundError", "ImportError"):
                raise ConfigError(tr("the kernel's session refused the change: {error}: {reason}").format(
                    error=content.get("ename"), reason=content.get("evalue")))
            # no colabmagic in that kernel's environment: the server keeps the clock
        return await run_blocking(self.change, kernel_id, pid, action, changes)

    @staticmethod
    def start_code(changes: dict) -> str:
        """The silent execute that starts a Session in the kernel (what %session does)."""
        options = {"limit": changes.get("limit"), "on_expire": changes.get("on_expire", "warn")}
        return ("import colabmagic.session as _colabmagic_session\n"
                f"_colabmagic_session.start(**{options!r})")

    async def _execute(self, kernel_id: str, code: str) -> dict:
        """Run code silently in the kernel; the execute reply's content."""
        client = own_client(self.kernel_manager.get_kernel(kernel_id))
        client.start_channels()
        try:
            # a kernel_info round trip first: iopub must be subscribed before the execute's
            # status messages go out, or the wait for its "idle" would miss it
            await client.wait_for_ready(timeout=self.kernel_timeout)
            reply = await client.execute_interactive(code, silent=True, store_history=False, allow_stdin=False,
                                                     user_expressions={"state": STATE_EXPRESSION},
                                                     timeout=self.kernel_timeout, output_hook=lambda msg: None)
        finally:
            client.stop_channels()
        return reply["content"]

    # ------------------------------------------------------------------ enforcing

    def due(self) -> list[tuple[str, str]]:
        """(kernel id, on_expire) of every running kernel whose limit has passed. Blocking."""
        now = self.clock()
        found = []
        for kernel_id in list(self.kernel_manager.list_kernel_ids()):
            state = read_state(kernel_id)
            if state is not None and state.past_limit(now):
                found.append((kernel_id, state.on_expire))
        return found

    async def enforce(self, run_blocking) -> list[str]:
        """One enforcement pass; returns the kernel ids acted on. `run_blocking(fn)` runs fn in
        the executor and awaits it."""
        acted = []
        due = await run_blocking(self.due)
        for kernel_id in set(self.due_since) - {kernel_id for kernel_id, _ in due}:
            del self.due_since[kernel_id]  # extended (or gone) since: a later expiry's grace starts afresh
        for kernel_id, action in due:
            if action == "shutdown":
                if self._running_a_cell(kernel_id):
                    continue
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

    def _running_a_cell(self, kernel_id: str) -> bool:
        """A kernel busy with a cell gets the grace its own session gives it (a %train stopping at its
        next step and checkpointing); then it is shut down, busy or not."""
        first = self.due_since.setdefault(kernel_id, self.clock())
        _, state = self.kernel_activity(kernel_id)
        return state == "busy" and self.clock() - first < SHUTDOWN_GRACE

    async def _shutdown(self, kernel_id: str) -> None:
        result = self.kernel_manager.shutdown_kernel(kernel_id)
        if hasattr(result, "__await__"):
            await result
