"""Bytes and durations as people read them, one convention for the whole project (DESIGN §1):
sizes of memory, disks and files in binary units (KiB, MiB, GiB, TiB: what `free -h`, %resources
and the toolbar show), transfer rates in decimal MB/s (what network and disk speeds are quoted in),
durations as 1h30m (typed and shown alike) and H:MM:SS on a countdown."""

from __future__ import annotations

import re

from .errors import ConfigError, shown
from .locale import mark, tr

_BINARY = ("KiB", "MiB", "GiB", "TiB", "PiB")


def size(count: float) -> str:
    """512 B, 1.5 KiB, 64.0 MiB, 23.5 GiB."""
    value = float(count)
    if abs(value) < 1024:
        return f"{value:.0f} B"
    for unit in _BINARY:
        value /= 1024
        if abs(value) < 1024 or unit == _BINARY[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def rate(bytes_per_second: float) -> str:
    """24.4 MB/s, 850 kB/s, 1.20 GB/s."""
    value = float(bytes_per_second)
    if value >= 1e9:
        return f"{value / 1e9:.2f} GB/s"
    if value >= 1e6:
        return f"{value / 1e6:.1f} MB/s"
    return f"{value / 1e3:.0f} kB/s"


# ---------------------------------------------------------------- durations
# One spelling for a length of time, read and written: '1h30m', '90m', '45s' (what %session takes and says).

YEAR = 366 * 86400.0  # seconds: a duration beyond a year is a typo (and 1e400 is inf)
DURATION_HELP = mark("use a duration like 90m, 2h or 1h30m")

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text, *, most: float = YEAR, hint: str = DURATION_HELP) -> float:
    """'90m', '2h', '1h30m', '45s', '1.5h', '2h 15m' (or a number of seconds) -> seconds, more
    than 0 and at most MOST. Anything else: one-line ConfigError ending in HINT (an English
    message marked for the catalogue, translated here: mark() it where it is defined)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        spec = str(text).strip().lower().replace(" ", "")
        match = _DURATION.fullmatch(spec)
        if not spec or not match or not any(match.groups()):
            raise ConfigError(tr("Unknown duration {text!r}: {hint}").format(text=str(text), hint=tr(hint)))
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 0 < seconds <= most:  # also refuses inf and nan (1e400, or 400 nines of hours)
        raise ConfigError(tr("A duration must be more than 0 and at most {days:.0f} days, not {text!r}: {hint}")
                          .format(days=most // 86400, text=shown(text, 40), hint=tr(hint)))
    return seconds


def duration(seconds: float) -> str:
    """Seconds -> '1h30m', '10m', '45s' (whole seconds; seconds are left out from an hour on)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs and not hours else ""]
    return "".join(parts) or "0s"


def clock(seconds: float) -> str:
    """Seconds -> 'H:MM:SS', as a countdown shows them (never below 0:00:00)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
