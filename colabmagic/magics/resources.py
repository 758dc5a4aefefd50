"""%resources: live RAM, CPU, disk and per-GPU bars, like Colab's resource monitor."""

from __future__ import annotations

import argparse

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import mark, tr, trn
from .base import ColabMagics, reports_errors, result_arguments
from .frontend import has_widgets, show_widget

_views: list = []  # live monitors in this kernel; only the newest refreshes
_unhooks: dict = {}  # id(view) -> removes that view's interrupt callback


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value >= 0.5:
        raise argparse.ArgumentTypeError(tr("expected seconds >= 0.5, got {text!r}").format(text=text))
    return value


_seconds.__name__ = "seconds"


@magics_class
class ResourcesMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("--interval", type=_seconds, default=2.0, metavar="SECONDS",
              help="Seconds between readings (default 2).")
    @argument("--once", action="store_true", help="One reading as text, no live refresh.")
    @argument("--stop", action="store_true", help="Stop every live monitor in this kernel.")
    @result_arguments
    @reports_errors
    def resources(self, line):
        """Live RAM, CPU, disk and GPU memory/utilisation bars, refreshed until closed or interrupted."""
        args = self.parse(self.resources, line)
        if args.stop:
            stopped = _stop_all(mark("stopped"))
            if not args.quiet:
                print(trn("Stopped {n} live monitor.", "Stopped {n} live monitors.", stopped).format(n=stopped))
            return None
        from ..machine import snapshot
        from ..machine.monitor import render_text

        if args.once or not has_widgets(self.shell) or args.quiet:
            snap = snapshot(processes=False)
            if not args.quiet:
                print(render_text(snap))
            return self.deliver(snap, args, show=False)
        from ..widgets.interrupts import on_interrupt
        from ..widgets.resources_view import ResourcesView

        _close_all()  # an earlier monitor would go on refreshing unseen
        view = ResourcesView(interval=args.interval)
        _views.append(view)
        remove = None

        def interrupted():
            view.stop(mark("interrupted"))
            if remove is not None:
                remove()

        remove = _unhooks[id(view)] = on_interrupt(self.shell, interrupted)
        show_widget(view, render_text(view.last))
        return self.deliver(view, args, show=False)


def _stop_all(reason: str) -> int:
    """Stop every monitor (the last readings stay on screen, with REASON: a marked message); how
    many were refreshing."""
    count = 0
    while _views:
        view = _views.pop()
        if view.running:
            count += 1
        view.stop(reason)
        _unhooks.pop(id(view), lambda: None)()
    return count


def _close_all() -> None:
    """Close the earlier monitors, as %session does its countdowns: their refresh ends too."""
    while _views:
        view = _views.pop()
        view.close()
        _unhooks.pop(id(view), lambda: None)()
