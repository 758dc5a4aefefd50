"""%gpu_info: NVIDIA GPUs, CPU, RAM and disks in one table, once or live with --watch."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import mark, tr
from .base import ColabMagics, reports_errors, result_arguments


def _positive(kind, what):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(tr("expected {what} > 0, got {text!r}").format(what=tr(what), text=text))
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


@magics_class
class GpuInfoMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("--json", action="store_true", help="Print JSON (one line per reading with --watch).")
    @argument("--watch", type=_positive(float, mark("seconds")), metavar="SECONDS",
              help="Refresh the same output every SECONDS until interrupted (Ctrl-C or Interrupt).")
    @argument("--count", type=_positive(int, mark("a count")), metavar="N", help="With --watch: stop after N readings.")
    @argument("--no-processes", action="store_true", help="Skip the per-GPU process lists (faster).")
    @result_arguments
    @reports_errors
    def gpu_info(self, line):
        """Show every NVIDIA GPU (through NVML) and the host's CPU, RAM, swap and disks."""
        args = self.parse(self.gpu_info, line)
        if args.count is not None and args.watch is None:
            raise UsageError(tr("--count needs --watch SECONDS"))
        from ..machine import snapshot, watch

        processes = not args.no_processes
        readings = watch(args.watch, args.count, processes=processes) if args.watch else [snapshot(processes)]
        result = show_live(readings, as_json=args.json, lines=bool(args.watch), quiet=args.quiet)
        if result is not None and not args.quiet and not args.json:
            result.mark_shown(self.shell.execution_count)  # -o as the last line: not a second table
        return self.deliver(result, args, show=False)


def show_live(readings, *, as_json: bool, lines: bool, quiet: bool):
    """Show each reading in one output that updates in place (a terminal reprints it); return the last."""
    import json

    from IPython.display import display

    handle = last = None
    try:
        for last in readings:
            if quiet:
                continue
            if as_json:
                print(json.dumps(last.to_dict(), indent=None if lines else 2))
            elif handle is None:
                handle = display(last._repr_mimebundle_(), raw=True, display_id=True)
            else:
                handle.update(last._repr_mimebundle_(), raw=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a user ends --watch
    return last
