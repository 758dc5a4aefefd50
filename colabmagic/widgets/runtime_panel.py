"""The %runtime panel, like Colab's "Change runtime type": the devices with their details, an
apply button, and a status line (what is selected, whether a kernel restart is needed).

All decisions are colabmagic.runtime's (discover, select); this module only draws them. A
restart-needed selection offers a "Restart kernel" button: a kernel cannot restart itself
politely, so it ends its process and Jupyter starts a fresh one (its automatic restart).
"""

from __future__ import annotations

from html import escape

import ipywidgets as widgets

from .. import runtime as rt
from ..locale import tr
from ..units import size
from .guard import guarded


def details_html(info: rt.Runtime, spec: str) -> str:
    """The chosen device's details as a small table."""
    if rt.parse_spec(spec).kind == "auto":
        text = tr("auto picks {device} now; %train follows the best device available at each run")
        return f"<i>{escape(text.format(device=info.best()))}</i>"
    shown = info.named(spec)
    # a GPU's own memory, or the CPU's RAM (one word in English, two in Chinese: 显存, 内存)
    rows, memory, ram = [], escape(tr("memory")), escape(tr("RAM"))  # (Babel reads no calls inside an f-string)
    for d in shown:
        rows.append(f"<tr><th style='text-align:left;padding-right:12px'>{escape(d.spec)}</th>"
                    f"<td>{escape(d.name)}</td></tr>")
        if d.memory_total_bytes is not None:
            rows.append(f"<tr><td style='opacity:.7'>{ram if d.kind == 'cpu' else memory}</td>"
                        f"<td>{size(d.memory_total_bytes)}</td></tr>")
        for key, value in d.details.items():
            if value is None or key.endswith("_bytes"):
                continue
            rows.append(f"<tr><td style='opacity:.7;padding-right:12px'>{escape(key.replace('_', ' '))}</td>"
                        f"<td>{escape(str(value))}</td></tr>")
    return f"<table style='font-size:12px;border-collapse:collapse'>{''.join(rows)}</table>"


class RuntimePanel:
    """The widget (`.widget`); apply() is what the button does."""

    def __init__(self, *, discover=rt.discover, select=rt.select, restart=None):
        self._discover, self._select = discover, select
        self._restart = restart or _restart_kernel
        self.info = discover()
        title = escape(tr("Change runtime type"))
        self.title = widgets.HTML(f"<b style='font-size:14px'>{title}</b>")
        self.choice = widgets.RadioButtons(options=self.info.choices(), value=self._current_value(),
                                           layout=widgets.Layout(width="auto"))
        self.details = widgets.HTML()
        self.apply_button = widgets.Button(description=tr("Apply"), button_style="primary", icon="check")
        self.restart_button = widgets.Button(description=tr("Restart kernel"), button_style="warning",
                                             icon="refresh", layout=widgets.Layout(display="none"))
        self.status = widgets.HTML()
        self.messages = widgets.Output()
        problem = self.info.gpu_problem and escape(tr("No NVIDIA GPU: {problem}").format(problem=self.info.gpu_problem))
        problem = f"<div style='opacity:.7'>{problem}</div>" if problem else ""
        self.widget = widgets.VBox([
            self.title, widgets.HTML(problem), self.choice, self.details,
            widgets.HBox([self.apply_button, self.restart_button]), self.status, self.messages,
        ], layout=widgets.Layout(border="1px solid rgba(128,128,128,.4)", padding="8px", width="fit-content"))
        self.widget.add_class("colabmagic-runtime")
        self.choice.observe(guarded(self.messages, self._show_details), names="value")
        self.apply_button.on_click(guarded(self.messages, self.apply))
        self.restart_button.on_click(guarded(self.messages, lambda _b: self._restart()))
        self._show_details()
        self.status.value = self._status_text(tr("selected: {spec}").format(spec=self.info.selected), restart=False)

    def apply(self, _button=None) -> rt.Selection:
        selection = self._select(self.choice.value)
        self.info = self._discover()
        with self.widget.hold_sync():
            self.status.value = self._status_text(selection.message, restart=selection.restart_needed)
            self.restart_button.layout.display = "" if selection.restart_needed else "none"
            self._show_details()
        return selection

    def _current_value(self) -> str:
        values = [value for _, value in self.info.choices()]
        return self.info.selected if self.info.selected in values else "auto"

    def _show_details(self, _change=None) -> None:
        self.details.value = details_html(self.info, self.choice.value)

    @staticmethod
    def _status_text(message: str, *, restart: bool) -> str:
        colour = "#fb8c00" if restart else "inherit"
        tail = " <b>" + escape(tr("Restart needed.")) + "</b>" if restart else ""
        return f"<div style='color:{colour};max-width:640px'>{escape(message)}{tail}</div>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _restart_kernel() -> None:
    """End the kernel process; Jupyter's automatic restart starts a fresh one."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(1)
