"""What `%train --list` shows: every model template and dataset, one line each."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass
class Catalogue:
    models: list[tuple[str, str]]     # (name, one-line summary)
    datasets: list[tuple[str, str]]

    def __str__(self) -> str:
        width = max(len(name) for name, _ in self.models + self.datasets)
        lines = ["Models:"] + [f"  {n:<{width}}  {s}" for n, s in self.models]
        lines += ["Datasets (or a folder, .csv or .npz path, or --data X y):"]
        lines += [f"  {n:<{width}}  {s}" for n, s in self.datasets]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        def table(title, rows):
            body = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td style='text-align:left'>"
                           f"{html.escape(s)}</td></tr>" for n, s in rows)
            return f"<b>{title}</b><table>{body}</table>"

        return table("Models", self.models) + table(
            "Datasets (or a folder, .csv or .npz path, or <code>--data X y</code>)", self.datasets)


def catalogue() -> Catalogue:
    from .data import list_datasets
    from .models import list_models

    return Catalogue(models=list_models(), datasets=list_datasets())
