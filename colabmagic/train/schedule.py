"""What falls due between training steps: a view refresh, a checkpoint, a thread re-check, a DDP agreement.

The step loop asks one question per step, `now >= schedule.next_time or step >= schedule.next_step`
(two comparisons: nothing else lives in the step), and calls `run` only when it is yes. Each event
says itself when it next falls due, in wall time (perf_counter seconds) or in global steps done,
so the loop never keeps a timer of its own.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Protocol


class Event(Protocol):
    next_time: float   # perf_counter() at which it falls due; inf: never by time
    next_step: float   # global steps done at which it falls due; inf: never by steps

    def fire(self, now: float, step: int) -> None: ...


class Every:
    """`action(now, step)` every `seconds` of wall time or every `steps` global steps.

    A timed event is re-armed from the clock after its action ran, so a slow action (a checkpoint
    on a busy disk) is never asked for again at once; a stepped one at the next multiple of `steps`,
    so that every DDP rank fires it at the same step whatever step it started from."""

    def __init__(self, action: Callable[[float, int], None], *, seconds: float = 0.0, steps: int = 0,
                 start: float = 0.0, step: int = 0):
        self.action, self.seconds, self.steps = action, seconds, steps
        self.next_time = start + seconds if seconds > 0 else math.inf
        self.next_step = self._after(step)

    def fire(self, now: float, step: int) -> None:
        self.action(now, step)
        self.restart(time.perf_counter(), step)

    def restart(self, now: float, step: int) -> None:
        """Count the interval from `now` (and `step`) again."""
        if self.seconds > 0:
            self.next_time = now + self.seconds
        self.next_step = self._after(step)

    def _after(self, step: int) -> float:
        return (step // self.steps + 1) * self.steps if self.steps > 0 else math.inf


class Schedule:
    """Events in the order they run when several fall due at once."""

    def __init__(self, events: list[Event | None]):
        self.events = [event for event in events if event is not None]
        self._arm()

    def run(self, now: float, step: int) -> None:
        """Fire every event due at `now` / `step`, in order."""
        for event in self.events:
            if now >= event.next_time or step >= event.next_step:
                event.fire(now, step)
        self._arm()

    def rearm(self) -> None:
        """Take in events whose times changed outside `run` (an Every.restart at an epoch end)."""
        self._arm()

    def _arm(self) -> None:
        self.next_time = min((event.next_time for event in self.events), default=math.inf)
        self.next_step = min((event.next_step for event in self.events), default=math.inf)
