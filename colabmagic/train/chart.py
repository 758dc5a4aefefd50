"""A live loss/accuracy chart drawn as inline SVG: no matplotlib, crisp at any zoom, cheap to redraw.

`TrainingChart(history)` displays as two small line charts in a notebook and as an epoch table in a
terminal, so one display call works in both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

# split -> line colour (Colab-like palette that reads on light and dark themes)
COLOURS = {"train": "#1a73e8", "val": "#e37400", "test": "#188038"}
WIDTH, HEIGHT, PAD = 320, 180, 36  # px


@dataclass
class TrainingChart:
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per epoch
    total_epochs: int | None = None
    title: str = ""

    def series(self, metric: str) -> dict[str, list[float]]:
        """split -> values per epoch, for the splits that report `metric` ("loss" or "accuracy")."""
        lines = {}
        for split in COLOURS:
            values = [row[f"{split}_{metric}"] for row in self.history if f"{split}_{metric}" in row]
            if values:
                lines[split] = values
        return lines

    def _panel(self, metric: str) -> str:
        lines = self.series(metric)
        epochs = max(self.total_epochs or 0, len(self.history), 2)
        values = [v for vs in lines.values() for v in vs] or [0.0, 1.0]
        low, high = min(values), max(values)
        if metric == "accuracy":
            low, high = min(low, 1.0), 1.0
        if high - low < 1e-9:
            low, high = low - 0.5, high + 0.5
        plot_w, plot_h = WIDTH - PAD - 8, HEIGHT - PAD - 12

        def x(i: int) -> float:
            return PAD + plot_w * i / (epochs - 1)

        def y(v: float) -> float:
            return 12 + plot_h * (high - v) / (high - low)

        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'style="font:11px sans-serif;fill:currentColor">',
            f'<text x="{PAD}" y="10">{metric}</text>',
            f'<line x1="{PAD}" y1="{12 + plot_h}" x2="{PAD + plot_w}" y2="{12 + plot_h}" '
            f'stroke="currentColor" stroke-opacity="0.3"/>',
            f'<text x="2" y="16">{high:.3g}</text><text x="2" y="{12 + plot_h}">{low:.3g}</text>',
            f'<text x="{PAD}" y="{HEIGHT - 4}">1</text>'
            f'<text x="{PAD + plot_w - 12}" y="{HEIGHT - 4}">{epochs}</text>',
        ]
        for split, vs in lines.items():
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs))
            parts.append(f'<polyline fill="none" stroke="{COLOURS[split]}" stroke-width="2" points="{points}"/>')
            parts.append(f'<circle cx="{x(len(vs) - 1):.1f}" cy="{y(vs[-1]):.1f}" r="3" fill="{COLOURS[split]}"/>')
        legend_x = PAD + 8
        for split in lines:
            parts.append(f'<text x="{legend_x}" y="{HEIGHT - 16}" style="fill:{COLOURS[split]}">{split}</text>')
            legend_x += 44
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        title = f"<div style='font-weight:600'>{html.escape(self.title)}</div>" if self.title else ""
        return f"<div>{title}<div style='display:flex;gap:16px'>{self._panel('loss')}{self._panel('accuracy')}</div></div>"

    def __str__(self) -> str:
        if not self.history:
            return f"{self.title}: waiting for the first epoch"
        keys = [k for k in self.history[-1] if k.endswith(("loss", "accuracy"))]
        header = "epoch  " + "  ".join(f"{k:>14}" for k in keys)
        rows = [f"{i + 1:>5}  " + "  ".join(f"{row.get(k, float('nan')):>14.4f}" for k in keys)
                for i, row in enumerate(self.history)]
        return "\n".join(([self.title] if self.title else []) + [header] + rows)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))
