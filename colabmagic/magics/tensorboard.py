"""%tensorboard_inline: TensorBoard in the notebook, through the Jupyter server (never localhost:<port>
of the browser's machine), or its scalar curves drawn inline where nothing can proxy it."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import mark, tr
from .base import ColabMagics, output_arguments, reports_errors

ALL = -1  # --stop without a port


def _number(kind, what, low):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(tr("expected {what} >= {low}, got {text!r}")
                                             .format(what=tr(what), low=low, text=text))
        return value

    parse.__name__ = what
    return parse


@magics_class
class TensorBoardMagics(ColabMagics):
    def __init__(self, shell=None, **kwargs):
        super().__init__(shell, **kwargs)
        self._watcher = None   # the --watch refresh of the last static view
        self._finder = None    # the Jupyter server lookup, done once per kernel
        self._kernel = False   # this kernel's id once looked up (None: not a Jupyter kernel)

    @line_magic
    @magic_arguments()
    @argument("--logdir", default="runs", metavar="DIR",
              help="Folder of event files (default runs, where %%train writes).")
    @argument("--port", type=_number(int, mark("a port"), 1), metavar="N", help="Port on 127.0.0.1 (default: a free one).")
    @argument("--height", type=_number(int, mark("pixels"), 100), default=800, metavar="PX", help="Height of the frame.")
    @argument("--static", action="store_true", help="Draw the scalar curves inline instead of running TensorBoard.")
    @argument("--watch", type=_number(float, mark("seconds"), 0), default=5.0, metavar="S",
              help="Static view: re-read every S seconds while runs write (0: once).")
    @argument("--wait", action="store_true", help="Start even though the logdir does not exist yet.")
    @argument("--keep", action="store_true", help="Keep TensorBoard running after this kernel exits.")
    @argument("--list", action="store_true", help="List the running instances.")
    @argument("--stop", type=_number(int, mark("a port"), 1), nargs="?", const=ALL, metavar="PORT",
              help="Stop the instance on PORT, or all of them.")
    @output_arguments
    @reports_errors
    def tensorboard_inline(self, line):
        """Show TensorBoard for a logdir: started or reused, bound to 127.0.0.1, framed through Jupyter."""
        args = self.parse(self.tensorboard_inline, line)
        self._stop_watching()
        from .. import tensorboard as tb

        if args.list:
            live = tb.instances()
            return self.deliver(tb.InstanceList(live, self._urls(tb, live)), args, show=True)
        if args.stop is not None:
            return self.deliver(tb.Stopped(tb.stop(None if args.stop == ALL else args.stop)), args, show=True)
        if args.static or not self._can_frame():
            return self.deliver(self._show_static(tb, args), args, show=False)
        return self.deliver(self._show_frame(tb, args), args, show=False)

    # --- the two views ---------------------------------------------------------------------------

    def _show_frame(self, tb, args):
        from IPython.display import Pretty, display

        handle = None

        def launching():
            nonlocal handle
            handle = display(Pretty(tr("Launching TensorBoard…")), display_id=True)

        outcome = tb.start(args.logdir, args.port, keep=args.keep, wait=args.wait, on_launch=launching)
        if isinstance(outcome, (tb.StartFailed, tb.StartTimedOut)):
            _show(handle, outcome)
            problem = str(outcome).splitlines()[0]
            raise UsageError(tr("{problem} (its output is shown above)").format(problem=problem))
        instance = outcome.instance
        src = self._finder_for(tb).frame_src(instance.port, self._kernel_id(), _in_kernel(self.shell),
                                             instance.prefix)
        if src is None:  # a Jupyter server, but it cannot proxy: draw the scalars instead
            note = tr("This Jupyter server cannot proxy TensorBoard (pip install jupyter-server-proxy, restart "
                      "Jupyter): scalars drawn inline. TensorBoard runs at {url} on the kernel's "
                      "machine (--stop {port} ends it).").format(url=instance.local_url, port=instance.port)
            if handle is not None:
                handle.update(Pretty(note))
            return self._show_static(tb, args, note="" if handle is not None else note)
        view = tb.TensorBoardFrame(instance, src, args.height, reused=isinstance(outcome, tb.StartReused))
        _show(handle, view)
        return view

    def _show_static(self, tb, args, note: str | None = None):
        from IPython.display import display

        reader = tb.ScalarReader(args.logdir, wait=args.wait)
        board = reader.read()
        if note is None and not args.static:
            note = tr("No Jupyter server here can proxy TensorBoard (VS Code, a terminal, an exported notebook): "
                      "its scalars drawn inline.")
        board.note = note or ""
        live = args.watch > 0 and _in_kernel(self.shell)  # a terminal cannot redraw in place
        board.watching = live
        handle = display(board, display_id=True)
        if live:
            def show(new_board):
                new_board.note = board.note
                handle.update(new_board)

            def failed(err):
                from IPython.display import Pretty

                handle.update(Pretty(tr("TensorBoard scalars: refresh stopped: {error}").format(error=err)))

            self._watcher = tb.ScalarWatcher(reader, args.watch, show, on_error=failed).start()
        return board

    # --- context -----------------------------------------------------------------------------------

    def _can_frame(self) -> bool:
        """Worth starting TensorBoard: an explicit proxy URL, or a kernel whose Jupyter server we found."""
        import os

        if os.environ.get("TENSORBOARD_PROXY_URL"):
            return True
        if not _in_kernel(self.shell):
            return False
        from .. import tensorboard as tb

        return self._finder_for(tb).server(self._kernel_id()) is not None

    def _finder_for(self, tb):
        if self._finder is None:
            self._finder = tb.ProxyFinder()
        return self._finder

    def _urls(self, tb, live) -> dict:
        """port -> the URL a browser uses: through this kernel's Jupyter server where it can proxy."""
        finder, kernel_id, in_kernel = self._finder_for(tb), self._kernel_id(), _in_kernel(self.shell)
        return {i.port: finder.frame_src(i.port, kernel_id, in_kernel, i.prefix) or i.local_url for i in live}

    def _kernel_id(self) -> str | None:
        if self._kernel is False:  # a kernel keeps its connection file: look it up once
            self._kernel = _kernel_id(self.shell)
        return self._kernel

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


def _show(handle, obj) -> None:
    """Replace "Launching TensorBoard…" in place, or display anew when nothing was launched.

    The bundle is built here and sent raw: IPython's formatter chain would probe a dozen _repr_*_
    methods on every reuse call for the two it finds."""
    from IPython.display import display

    bundle = {"text/plain": str(obj)}
    if hasattr(obj, "_repr_html_"):
        bundle["text/html"] = obj._repr_html_()
    if handle is not None:
        handle.update(bundle, raw=True)
    else:
        display(bundle, raw=True)


def _in_kernel(shell) -> bool:
    return getattr(shell, "kernel", None) is not None


def _kernel_id(shell) -> str | None:
    """This kernel's id, from its connection file's name (kernel-<id>.json), as Jupyter names it."""
    if not _in_kernel(shell):
        return None
    try:
        from pathlib import Path

        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not an ipykernel (another kernel implementation): no id to match
        return None
    return name[len("kernel-"):-len(".json")] if name.startswith("kernel-") and name.endswith(".json") else None
