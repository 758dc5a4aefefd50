"""The %resources monitor: RAM, CPU, disk and per-GPU memory/utilisation bars, like Colab's.

Readings come from colabmagic.system.snapshot() (no process lists: they are the slow part), every
2 s on a background Ticker while the widget is shown. The refresh stops when the widget is
closed, when the kernel is interrupted (the magic wires that), or after an error, which the
widget shows. Only values that changed are sent to the browser, all in one hold_sync batch.
"""

from __future__ import annotations

import time

import ipywidgets as widgets

from .guard import report
from ..snapshot_table import bar_colour, used_of
from .ticker import Ticker

INTERVAL = 2.0  # seconds between readings
LABEL_WIDTH = "9em"
BAR_WIDTH = "180px"


BUSY_COLOUR = "#1e88e5"  # CPU and GPU use: high is not a warning, so one colour


def bars(snap) -> list[tuple[str, str, float | None, str]]:
    """(key, label, fraction or None, text) for each bar a reading draws, in display order."""
    host = snap.host
    rows = [("ram", "RAM", _share(host.memory_used, host.memory_total), used_of(host.memory_used, host.memory_total))]
    if host.cpu_percent is not None:
        cores = f" of {host.logical_cores} cores" if host.logical_cores else ""
        rows.append(("cpu", "CPU", host.cpu_percent / 100, f"{host.cpu_percent:.0f}%{cores}"))
    else:
        rows.append(("cpu", "CPU", None, "measuring…"))
    for i, d in enumerate(host.disks):
        rows.append((f"disk{i}", "Disk" if i == 0 else f"Disk {i + 1}", _share(d.used, d.total),
                     f"{used_of(d.used, d.total)} · {d.label}"))
    for g in snap.gpus:
        rows.append((f"gpu{g.index}mem", f"GPU {g.index} RAM", g.memory_fraction,
                     f"{used_of(g.memory_used, g.memory_total)} · {g.name or 'GPU'}"))
        util = None if g.gpu_utilization is None else g.gpu_utilization / 100
        rows.append((f"gpu{g.index}util", f"GPU {g.index} use", util,
                     "N/A" if g.gpu_utilization is None else f"{g.gpu_utilization}%"))
    return rows


def render_text(snap) -> str:
    """The terminal form: one line per bar."""
    lines = []
    for _, label, fraction, text in bars(snap):
        filled = 0 if fraction is None else round(max(0.0, min(1.0, fraction)) * 20)
        lines.append(f"{label:<10} [{'#' * filled}{'.' * (20 - filled)}] {text}")
    if snap.gpu_problem:
        lines.append(f"No NVIDIA GPU visible: {snap.gpu_problem}")
    return "\n".join(lines)


def _share(used, total) -> float | None:
    return used / total if used is not None and total else None


class _Bar:
    def __init__(self, key: str, label: str):
        self.busy = key == "cpu" or key.endswith("util")  # use, not filling: one colour
        self.label = widgets.HTML(value=f"<b>{label}</b>", layout=widgets.Layout(width=LABEL_WIDTH))
        self.bar = widgets.FloatProgress(min=0.0, max=1.0, layout=widgets.Layout(width=BAR_WIDTH))
        self.text = widgets.Label()
        self.box = widgets.HBox([self.label, self.bar, self.text], layout=widgets.Layout(align_items="center"))

    def show(self, fraction: float | None, text: str) -> None:
        value = 0.0 if fraction is None else round(max(0.0, min(1.0, fraction)), 3)
        if self.bar.value != value:
            self.bar.value = value
        colour = BUSY_COLOUR if self.busy else bar_colour(value)
        if self.bar.style.bar_color != colour:
            self.bar.style.bar_color = colour
        if self.text.value != text:
            self.text.value = text


class ResourcesView:
    """The widget (`.widget`) over snapshot readings; refresh() is all the logic."""

    def __init__(self, read=None, *, ticker=Ticker, interval: float = INTERVAL, clock=time.time):
        if read is None:
            from ..system import snapshot

            first = [True]

            def read():
                # the first reading may wait 0.1 s to measure CPU use; refreshes never wait
                sample, first[0] = (0.1 if first[0] else 0.0), False
                return snapshot(processes=False, cpu_sample=sample)
        self.read = read
        self.clock = clock
        self.rows: dict[str, _Bar] = {}
        self.status = widgets.HTML()
        self.messages = widgets.Output()
        self.body = widgets.VBox()
        self.widget = widgets.VBox([self.body, self.status, self.messages])
        self.widget.add_class("colabmagic-resources")
        self.refreshes = 0
        self.last = None
        self._stopped_because: str | None = None
        self._ticker = ticker(interval, self._tick, name="colabmagic-resources")
        self.refresh()
        self._ticker.start()

    @property
    def running(self) -> bool:
        return self._ticker.running

    def refresh(self) -> None:
        snap = self.read()
        self.last = snap
        rows = bars(snap)
        with self.widget.hold_sync():
            if [key for key, *_ in rows] != list(self.rows):  # a GPU or disk came or went: rebuild
                self.rows = {key: _Bar(key, label) for key, label, _, _ in rows}
                self.body.children = [bar.box for bar in self.rows.values()]
            for key, _, fraction, text in rows:
                self.rows[key].show(fraction, text)
            note = f"No NVIDIA GPU visible: {snap.gpu_problem} · " if snap.gpu_problem else ""
            status = (f'<span style="opacity:.6;font-size:11px">{note}updated '
                      f'{time.strftime("%H:%M:%S", time.localtime(snap.taken_at))}, every '
                      f'{self._ticker.interval:g} s</span>')
            if self.status.value != status:
                self.status.value = status
        self.refreshes += 1

    def stop(self, reason: str = "stopped") -> None:
        """End the refresh; the last reading stays on screen with the reason."""
        if self._stopped_because is None:
            self._stopped_because = reason
            self._ticker.stop()
            self.status.value = (f'<span style="opacity:.6;font-size:11px">{reason}: not refreshing '
                                 '(run %resources again to resume)</span>')

    def close(self) -> None:
        self._stopped_because = self._stopped_because or "closed"
        self._ticker.stop()
        self.widget.close()

    def _tick(self):
        if self.widget.comm is None:  # closed from the frontend or by widget.close()
            self._ticker.stop()
            return False
        try:
            self.refresh()
        except Exception as err:
            report(self.messages, err)
            self.stop("error")
            return False
        return None

    def __repr__(self) -> str:
        # not the widget: `%resources -o` as a cell's last line must not draw a second monitor
        state = f"refreshing every {self._ticker.interval:g} s" if self.running else (self._stopped_because or "stopped")
        return f"<ResourcesView: {len(self.rows)} bars, {state}; .widget shows it, .last is the reading>"
