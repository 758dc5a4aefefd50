"""One shown form bound to the variables its cell set: a field change assigns the variable in
the user's namespace and rewrites that field's line of the cell's source, which the JupyterLab
extension writes into the notebook (and re-runs, for `run: "auto"`) or, with no extension
listening, the kernel keeps and re-runs itself.
"""

from __future__ import annotations

from .form_annotations import Field, Form
from .form_frontend import FrontendChannel
from .form_values import FieldValueError, choose, entry_for, rewrite
from .form_widgets import FormView


class BoundForm:
    def __init__(self, form: Form, source: str, namespace: dict, cell_id: str | None, rerun):
        self.form = form
        self.lines = source.split("\n")
        self.namespace = namespace
        self._rerun = rerun  # rerun(bound_form): runs self.source again, its output in self.view.output
        self.view = FormView(form)
        self.view.on_change(self.changed)
        self.channel = None  # a cell without an id (a terminal, a plain shell) has no notebook to edit
        if cell_id:
            self.channel = FrontendChannel(cell_id, form.display_mode, bool(form.fields), self.view.say)

    @property
    def source(self) -> str:
        return "\n".join(self.lines)

    def sync(self) -> None:
        """Show what the cell's run left in its variables, where it fits the field."""
        for field in self.form.fields:
            if field.name in self.namespace:
                entry = entry_for(field, self.namespace[field.name])
                if entry is not None:
                    self.view.show(field, entry)

    def changed(self, field: Field, entry) -> None:
        try:
            choice = choose(field, entry, self.namespace)
        except FieldValueError as err:
            self.view.say(f"{field.name}: {err}")
            return
        self.view.output.clear_output()
        self.namespace[field.name] = choice.value
        old = self.lines[field.line]
        self.lines[field.line] = rewrite(old, field, choice.text)
        if self.channel is not None and self.channel.ready:
            self.channel.send_edit(field.line, old, self.lines[field.line], run=self.form.run_auto)
        elif self.form.run_auto:
            self._rerun(self)

    def close(self) -> None:
        self.view.close()
        if self.channel is not None:
            self.channel.close()
