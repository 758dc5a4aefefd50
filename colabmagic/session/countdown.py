"""The countdown: what a session shows at one moment, as numbers and in words.

`%session` prints it and its widget (widgets/session_view.py) draws it; neither words the clock
itself. WARN_AT are the marks where the clock warns and the countdown changes colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import units

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
            return "no limit"
        return "0:00:00" if self.reached else units.clock(self.left)

    @property
    def note(self) -> str:
        """What the clock counts down: 'left of 2h', or why it does not."""
        if self.left is None:
            return "this session has no time limit"
        if self.reached:
            return f"expired: the {units.duration(self.total)} limit is reached"
        return f"left of {units.duration(self.total)}"

    def __str__(self) -> str:
        limit = "no limit" if self.left is None else (
            f"{units.clock(self.left)} left of {units.duration(self.total)}")
        state = " (expired)" if self.expired else ""
        return (f"session: {limit}{state}; running {units.duration(self.elapsed)}, "
                f"idle {units.duration(self.idle)}; at the limit: {self.on_expire}")

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))
