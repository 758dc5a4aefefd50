"""What `%train --list` shows: every model template and dataset, one line each."""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..locale import tr
from ..columns import padded, width as text_columns


@dataclass
class Catalogue:
    models: list[tuple[str, str]]     # (name, one-line summary)
    datasets: list[tuple[str, str]]

    def __str__(self) -> str:
        width = max(text_columns(name) for name, _ in self.models + self.datasets)
        # the summaries are marked where they are defined (models/, data/) and translated here
        lines = [tr("Models:")] + [f"  {padded(n, width)}  {tr(s)}" for n, s in self.models]
        lines += [tr("Datasets (or a folder, .csv or .npz path, or {data}):").format(data="--data X y")]
        lines += [f"  {padded(n, width)}  {tr(s)}" for n, s in self.datasets]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        def table(title, rows):
            body = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td style='text-align:left'>"
                           f"{html.escape(tr(s))}</td></tr>" for n, s in rows)
            return f"<b>{title}</b><table>{body}</table>"

        datasets = html.escape(tr("Datasets (or a folder, .csv or .npz path, or {data})"))
        return table(html.escape(tr("Models")), self.models) + table(
            datasets.format(data="<code>--data X y</code>"), self.datasets)


def catalogue() -> Catalogue:
    from .data import list_datasets
    from .models import list_models

    return Catalogue(models=list_models(), datasets=list_datasets())
