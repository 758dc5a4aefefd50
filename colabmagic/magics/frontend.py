"""Where a magic's output goes: a live widget in a kernel with a frontend, text in a terminal.

A widget is published with a text/plain form of its state at that moment, so viewers without
widgets (GitHub, nbviewer, an exported notebook) show something readable instead of a repr.
"""

from __future__ import annotations


def has_widgets(shell) -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook 7, VS Code); False in a terminal IPython."""
    return getattr(shell, "kernel", None) is not None


def show_widget(view, text: str) -> None:
    """Display a view's widget with `text` as its plain-text form."""
    from IPython.display import display

    bundle = view.widget._repr_mimebundle_() or {}
    bundle = dict(bundle)
    bundle["text/plain"] = text
    display(bundle, raw=True)
