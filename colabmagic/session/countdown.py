"""The countdown: what a session shows at one moment, as numbers and in words.

`%session` prints it and its widget (widgets/session_view.py) draws it; neither words the clock
itself. WARN_AT are the marks where the clock warns and the countdown changes colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import units
from ..locale import tr

__all__ = ["Countdown", "WARN_AT"]

WARN_AT = (30 * 60.0, 10 * 60.0, 60.0)  # seconds left at which the clock warns, largest first


@dataclass(frozen=True)
class Countdown:
    left: float | None      # seconds left; None without a limit
    total: float | None     # the limit with its extension; None without a limit
    expired: bool           # the clock has run its expiry
    elapsed: float          # seconds since the session started
    idle: float             # seconds since the last cell started; 0 while one runs
    on_expire: str

    @property
    def reached(self) -> bool:
        """The limit is reached (whether or not the clock has run its expiry yet)."""
        return self.left is not None and (self.expired or self.left <= 0)

    @property
    def fraction(self) -> float:
        """How much of the time is left, 0 to 1 (0 without a limit)."""
        if not self.total or self.left is None:
            return 0.0
        return max(0.0, min(1.0, self.left / self.total))

    @property
    def clock(self) -> str:
        """'1:59:58', '0:00:00' at the limit, 'no limit'."""
        if self.left is None:
            return tr("no limit")
        return "0:00:00" if self.reached else units.clock(self.left)

    @property
    def note(self) -> str:
        """What the clock counts down: 'left of 2h', or why it does not."""
        if self.left is None:
            return tr("this session has no time limit")
        if self.reached:
            return tr("expired: the {limit} limit is reached").format(limit=units.duration(self.total))
        return tr("left of {limit}").format(limit=units.duration(self.total))

    def __str__(self) -> str:
        limit = tr("no limit") if self.left is None else tr("{left} left of {limit}").format(
            left=units.clock(self.left), limit=units.duration(self.total))
        state = tr(" (expired)") if self.expired else ""
        return tr("session: {limit}{expired}; running {elapsed}, idle {idle}; at the limit: {on_expire}").format(
            limit=limit, expired=state, elapsed=units.duration(self.elapsed), idle=units.duration(self.idle),
            on_expire=self.on_expire)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))
