"""The %resources monitor's core: which bars a reading draws, their words and colours, its text form,
and the readings it refreshes from. widgets/resources_view.py only puts these on screen.
"""

from __future__ import annotations

from typing import NamedTuple

from ..locale import tr
from .cpu import CPU_FIRST_SAMPLE
from ..columns import padded
from .table import bar_colour, cpu_use, no_gpu_line, used_of

__all__ = ["BUSY_COLOUR", "Bar", "Readings", "bars", "make_bar", "no_gpu_note", "render_text"]

BUSY_COLOUR = "#1e88e5"  # CPU and GPU use: high is not a warning, so one colour
TEXT_BAR_WIDTH = 20  # characters of a bar in the terminal form


class Bar(NamedTuple):
    """One bar, worded and coloured (a tuple: a refresh builds a handful each time)."""

    key: str  # stable across readings: "ram", "cpu", "disk0", "gpu0mem", "gpu0util"
    label: str
    fraction: float | None  # None: not known (drawn empty)
    text: str
    shown: float  # the bar's length 0..1, rounded so that an unchanged reading sends nothing
    colour: str


def make_bar(key: str, label: str, fraction: float | None, text: str) -> Bar:
    shown = 0.0 if fraction is None else round(max(0.0, min(1.0, fraction)), 3)
    busy = key == "cpu" or key.endswith("util")  # a use (CPU, GPU), not a filling: high is no warning
    return Bar(key, label, fraction, text, shown, BUSY_COLOUR if busy else bar_colour(shown))


def bars(snap) -> list[Bar]:
    """Each bar a reading draws, in display order."""
    host = snap.host
    rows = [make_bar("ram", tr("RAM"), _share(host.memory_used, host.memory_total),
                     used_of(host.memory_used, host.memory_total))]
    if host.cpu_percent is not None:
        rows.append(make_bar("cpu", "CPU", host.cpu_percent / 100, cpu_use(host.cpu_percent, host.logical_cores)))
    else:
        rows.append(make_bar("cpu", "CPU", None, tr("measuring…")))
    for i, d in enumerate(host.disks):
        label = tr("Disk") if i == 0 else tr("Disk {number}").format(number=i + 1)
        rows.append(make_bar(f"disk{i}", label, _share(d.used, d.total), f"{used_of(d.used, d.total)} · {d.label}"))
    for g in snap.gpus:
        rows.append(make_bar(f"gpu{g.index}mem", tr("GPU {index} RAM").format(index=g.index), g.memory_fraction,
                        f"{used_of(g.memory_used, g.memory_total)} · {g.name or 'GPU'}"))
        util = None if g.gpu_utilization is None else g.gpu_utilization / 100
        rows.append(make_bar(f"gpu{g.index}util", tr("GPU {index} use").format(index=g.index), util,
                        "N/A" if g.gpu_utilization is None else f"{g.gpu_utilization}%"))
    return rows


def no_gpu_note(snap) -> str | None:
    return no_gpu_line(snap)


def render_text(snap) -> str:
    """The terminal form: one line per bar."""
    lines = []
    for bar in bars(snap):
        filled = round(bar.shown * TEXT_BAR_WIDTH)
        lines.append(f"{padded(bar.label, 10)} [{'#' * filled}{'.' * (TEXT_BAR_WIDTH - filled)}] {bar.text}")
    note = no_gpu_note(snap)
    if note:
        lines.append(note)
    return "\n".join(lines)


class Readings:
    """The monitor's reading function: no process lists (the slow part); the first reading may
    wait to measure CPU use, refreshes never wait."""

    def __init__(self):
        self._first = True

    def __call__(self):
        from .snapshots import snapshot

        wait, self._first = (CPU_FIRST_SAMPLE if self._first else 0.0), False
        return snapshot(processes=False, cpu_sample=wait)


def _share(used, total) -> float | None:
    return used / total if used is not None and total else None
