"""A Colab form drawn with ipywidgets: its title and text, one control per field, and an output
area for what a field change says (a raw value Python cannot read) or prints (a re-run).

Controls report a change once the user has settled (continuous_update=False): a slider dragged
across fifty steps re-runs a `run: "auto"` cell once, not fifty times.
"""

from __future__ import annotations

from .form_annotations import Field, Form, Markdown
from .form_values import integral_slider, labels, source_entry


def _control(field: Field):
    import ipywidgets as widgets

    common = {"description": field.name, "style": {"description_width": "initial"},
              "layout": widgets.Layout(width="auto", min_width="320px")}
    entry = source_entry(field)
    kind = field.kind
    if kind == "dropdown" and field.allow_input:
        text = labels(field)[entry] if isinstance(entry, int) else (entry or "")
        return widgets.Combobox(value=text, options=labels(field), ensure_option=False,
                                continuous_update=False, **common)
    if kind == "dropdown":
        return widgets.Dropdown(options=[(label, i) for i, label in enumerate(labels(field))], value=entry, **common)
    if kind == "slider":
        cls = widgets.IntSlider if integral_slider(field) else widgets.FloatSlider
        value = field.minimum if entry is None else entry
        return cls(value=value, min=field.minimum, max=field.maximum, step=field.step,
                   continuous_update=False, **common)
    if kind == "boolean":
        return widgets.Checkbox(value=bool(entry), indent=False, **common)
    if kind == "date":
        return widgets.DatePicker(value=entry, **common)
    if kind in ("number", "integer"):
        cls = widgets.FloatText if kind == "number" else widgets.IntText
        return cls(value=0 if entry is None else entry, continuous_update=False, **common)
    return widgets.Text(value=entry if isinstance(entry, str) else "", placeholder=field.placeholder,
                        continuous_update=False, **common)


def _markdown(text: str):
    import ipywidgets as widgets
    from IPython.display import Markdown as Rendered

    area = widgets.Output()
    area.append_display_data(Rendered(text))  # the frontend renders it, as it renders a markdown cell
    return area


class FormView:
    """The widgets of one form. `on_change(fn)` calls fn(field, entry) when the user changes a
    control; `show` sets one from the kernel without calling it."""

    def __init__(self, form: Form):
        import ipywidgets as widgets

        self.form = form
        self.controls = {field.name: _control(field) for field in form.fields}
        self.output = widgets.Output()
        parts = [_markdown(f"**{form.title}**")] if form.title else []
        for item in form.items:
            parts.append(_markdown(item.text) if isinstance(item, Markdown) else self.controls[item.name])
        self.widget = widgets.VBox(parts + [self.output])
        self.widget.add_class("cm-Form")
        self._listeners: list = []
        self._quiet = False
        for field in form.fields:
            self.controls[field.name].observe(lambda change, field=field: self._changed(field, change["new"]),
                                              names="value")

    def _changed(self, field: Field, entry) -> None:
        if self._quiet:
            return
        for listener in self._listeners:
            listener(field, entry)

    def on_change(self, listener) -> None:
        self._listeners.append(listener)

    def entry(self, name: str):
        return self.controls[name].value

    def show(self, field: Field, entry) -> None:
        control = self.controls[field.name]
        if field.kind == "dropdown" and field.allow_input and isinstance(entry, int):
            entry = labels(field)[entry]
        self._quiet = True
        try:
            control.value = entry
        finally:
            self._quiet = False

    def say(self, text: str) -> None:
        self.output.append_stderr(text.rstrip("\n") + "\n")

    def close(self) -> None:
        for widget in [*self.widget.children, self.widget]:
            widget.close()
