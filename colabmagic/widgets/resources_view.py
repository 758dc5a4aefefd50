"""The %resources monitor on screen: a bar widget per machine.monitor Bar, refreshed on a Ticker.

Every 2 s on a background Ticker while the widget is shown; what the bars are, say and look like is
colabmagic.machine.monitor's. The refresh stops when the widget is closed, when the kernel is
interrupted (the magic wires that), or after an error, which the widget shows. Only values that
changed are sent to the browser, all in one hold_sync batch.
"""

from __future__ import annotations

import time
from html import escape

import ipywidgets as widgets

from ..machine.monitor import Bar, Readings, bars, no_gpu_note
from ..locale import mark, tr
from .guard import report
from .ticker import Ticker

INTERVAL = 2.0  # seconds between readings
LABEL_WIDTH = "9em"
BAR_WIDTH = "180px"


class _BarWidget:
    def __init__(self, label: str):
        self.label = widgets.HTML(value=f"<b>{label}</b>", layout=widgets.Layout(width=LABEL_WIDTH))
        self.bar = widgets.FloatProgress(min=0.0, max=1.0, layout=widgets.Layout(width=BAR_WIDTH))
        self.text = widgets.Label()
        self.box = widgets.HBox([self.label, self.bar, self.text], layout=widgets.Layout(align_items="center"))

    def show(self, bar: Bar) -> None:
        if self.bar.value != bar.shown:
            self.bar.value = bar.shown
        if self.bar.style.bar_color != bar.colour:
            self.bar.style.bar_color = bar.colour
        if self.text.value != bar.text:
            self.text.value = bar.text


class ResourcesView:
    """The widget (`.widget`) over snapshot readings; refresh() is all the logic."""

    def __init__(self, read=None, *, ticker=Ticker, interval: float = INTERVAL, clock=time.time):
        self.read = Readings() if read is None else read
        self.clock = clock
        self.rows: dict[str, _BarWidget] = {}
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
            if [bar.key for bar in rows] != list(self.rows):  # a GPU or disk came or went: rebuild
                self.rows = {bar.key: _BarWidget(bar.label) for bar in rows}
                self.body.children = [row.box for row in self.rows.values()]
            for bar in rows:
                self.rows[bar.key].show(bar)
            note = no_gpu_note(snap)
            note = f"{note} · " if note else ""
            updated = tr("updated {time}, every {interval:g} s").format(
                time=time.strftime("%H:%M:%S", time.localtime(snap.taken_at)), interval=self._ticker.interval)
            status = f'<span style="opacity:.6;font-size:11px">{note}{updated}</span>'
            if self.status.value != status:
                self.status.value = status
        self.refreshes += 1

    def stop(self, reason: str = mark("stopped")) -> None:
        """End the refresh; the last reading stays on screen with the reason (a marked message,
        shown translated; the repr keeps it as given)."""
        if self._stopped_because is None:
            self._stopped_because = reason
            self._ticker.stop()
            text = tr("{reason}: not refreshing (run %resources again to resume)").format(reason=tr(reason))
            self.status.value = f'<span style="opacity:.6;font-size:11px">{escape(text)}</span>'

    def close(self) -> None:
        self._stopped_because = self._stopped_because or mark("closed")
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
            self.stop(mark("error"))
            return False
        return None

    def __repr__(self) -> str:
        # not the widget: `%resources -o` as a cell's last line must not draw a second monitor
        state = f"refreshing every {self._ticker.interval:g} s" if self.running else (self._stopped_because or "stopped")
        return f"<ResourcesView: {len(self.rows)} bars, {state}; .widget shows it, .last is the reading>"
