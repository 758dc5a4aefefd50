"""%session: the session clock (Colab's limit on a runtime's life) as a live countdown."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import tr
from .base import ColabMagics, reports_errors, result_arguments
from .frontend import has_widgets, show_widget

_views: list = []  # the countdowns shown; only the newest ticks


@magics_class
class SessionMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("--limit", metavar="DURATION",
              help="The session's length from the kernel's start: 90m, 2h, 1h30m, or none (default 12h).")
    @argument("--extend", metavar="DURATION", help="Add this much time to the session (e.g. 1h).")
    @argument("--on-expire", metavar="ACTION",
              help="At the limit: warn (default) or shutdown (stop training, end the kernel, free the GPU).")
    @argument("--end", action="store_true", help="Stop the session clock and remove its state file.")
    @result_arguments
    @reports_errors
    def session(self, line):
        """Show the time left in this kernel's session (starting its clock on first use)."""
        args = self.parse(self.session, line)
        from .. import session as clock

        if args.end:
            _close_views()
            clock.end()
            if not args.quiet:
                print(tr("Session clock stopped: no limit, no state file."))
            return None
        changes = changes_from(args)
        s = clock.start(**{k: v for k, v in changes.items() if k in ("limit", "on_expire")})  # or the running one
        _wire(self.shell, s)
        s.apply(changes)
        if not args.quiet:
            if has_widgets(self.shell):
                from ..widgets.session_view import SessionView

                _close_views()
                view = SessionView(s)
                _views.append(view)
                show_widget(view, str(s))
            else:
                print(s)
        return self.deliver(s, args, show=False)


def changes_from(args) -> dict:
    """The options' texts checked all at once, so a bad one changes nothing: keys (limit,
    on_expire, extend) only for what was given; "limit" may be None (no limit)."""
    from ..errors import ConfigError
    from ..session import checked_action, parse_limit

    changes: dict = {}
    if args.limit is not None:
        changes["limit"] = parse_limit(args.limit)
    if args.extend is not None:
        seconds = parse_limit(args.extend)
        if seconds is None:
            raise ConfigError(tr("--extend needs a duration like 30m or 1h, not {text!r}").format(text=args.extend))
        changes["extend"] = seconds
    if args.on_expire is not None:
        changes["on_expire"] = checked_action(args.on_expire)
    return changes


def _close_views() -> None:
    while _views:
        _views.pop().close()


def _wire(shell, s) -> None:
    """Idle time comes from cell starts: session.wire_cell_events connects them (once per shell)."""
    from ..session import wire_cell_events

    wire_cell_events(shell)
    s.cell_started()  # this cell is activity too (its pre_run_cell may have come before the wiring)
