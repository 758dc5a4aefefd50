"""Colab forms in a running IPython shell: `enable(shell)` shows the form of every cell that has
`#@param`, `#@markdown` or a `#@title` with `display-mode: "form"`, as ipywidgets bound to the
variables the cell set. `disable(shell)` removes the hooks and closes the forms. Both are idempotent.

The cell's code runs unchanged (annotations are comments); a form is built from its source just
before it runs, so it appears first in the cell's output as Colab's sits beside the code, and shows
the variables' values once it has run. A bad annotation is one line on stderr; the cell still runs.
"""

from __future__ import annotations

import itertools
import sys
import weakref

from ..locale import tr
from .form_annotations import parse_form
from .form_binding import BoundForm

_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class FormSession:
    """The forms one shell shows, one per cell (a cell run again replaces its form)."""

    def __init__(self, shell):
        self.shell = shell
        self.forms: dict[str, BoundForm] = {}
        self._running: BoundForm | None = None
        self._rerunning = False
        self._unnamed = itertools.count()

    def before(self, info) -> None:
        if self._rerunning:  # the form re-running its own cell stays as it is
            return
        cell_id = getattr(info, "cell_id", None)
        if cell_id in self.forms:
            self.forms.pop(cell_id).close()
        source = info.raw_cell or ""
        if "@" not in source:
            return
        form = parse_form(source)
        for problem in form.problems:
            print(tr("colabmagic: form annotation on {problem}; the cell runs without it").format(problem=problem),
                  file=sys.stderr)
        if not form.shown:
            return
        from IPython.display import display

        bound = BoundForm(form, source, self.shell.user_ns, cell_id, self.rerun)
        self.forms[cell_id or f"unnamed-{next(self._unnamed)}"] = bound
        self._running = bound
        display(bound.view.widget)

    def after(self, result) -> None:
        if self._running is not None and not self._rerunning:
            self._running.sync()
        self._running = None

    def rerun(self, bound: BoundForm) -> None:
        """Run BOUND's cell again with its new values, printing into the form's output area (no
        frontend is there to re-run the cell in the notebook)."""
        self._rerunning = True
        try:
            with bound.view.output:
                self.shell.run_cell(bound.source, store_history=False)
        finally:
            self._rerunning = False
        bound.sync()

    def close(self) -> None:
        for bound in self.forms.values():
            bound.close()
        self.forms.clear()


def enable(shell) -> None:
    if shell in _sessions:
        return
    session = _sessions[shell] = FormSession(shell)
    shell.events.register("pre_run_cell", session.before)
    shell.events.register("post_run_cell", session.after)


def disable(shell) -> None:
    session = _sessions.pop(shell, None)
    if session is None:
        return
    shell.events.unregister("pre_run_cell", session.before)
    shell.events.unregister("post_run_cell", session.after)
    session.close()


def enabled(shell) -> bool:
    return shell in _sessions


def active(shell) -> dict[str, BoundForm]:
    """The forms SHELL shows now, by cell id (cells run without one: `unnamed-N`)."""
    session = _sessions.get(shell)
    return dict(session.forms) if session else {}
