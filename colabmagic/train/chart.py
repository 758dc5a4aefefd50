"""A live loss/accuracy chart drawn as inline SVG: no matplotlib, crisp at any zoom, cheap to redraw.

`TrainingChart(history)` displays as two small line charts in a notebook and as an epoch table in a
terminal (and wherever a notebook is shown without HTML), so one display call works in both.
Each panel has axis titles, ticks at round values, room around the data (no point lies on an
axis) and the legend above the plot, clear of the ticks.
"""

from __future__ import annotations

import html
import math
import unicodedata
from dataclasses import dataclass, field

from ..locale import mark, tr

# split -> line colour (Colab-like palette that reads on light and dark themes)
COLOURS = {"train": "#1a73e8", "val": "#e37400", "test": "#188038"}
LABELS = {"train": mark("train"), "val": mark("validation"), "test": mark("test")}  # translated where shown
METRIC_WORDS = {"loss": mark("loss"), "accuracy": mark("accuracy")}  # each panel's y-axis title
WIDTH, HEIGHT = 360, 240                        # px, one panel
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 34, 44       # px around the plot: y ticks + title, legend, x ticks + title
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
TICK_PX, TITLE_PX = 12, 13
PAD = 0.08                                      # fraction of the data's range left free above and below it
INSET = 10                                      # px between the plot's sides and the first and last epoch
MAX_MARKERS = 20                                # up to this many epochs every point gets a dot


@dataclass
class TrainingChart:
    history: list[dict[str, float]] = field(default_factory=list)  # one dict per epoch (or logged step)
    total_epochs: int | None = None    # the x axis runs to here while training
    title: str = ""
    x_label: str = mark("epoch")       # rows count epochs (%train) or logged steps (TensorBoard files)

    def series(self, metric: str) -> dict[str, list[float]]:
        """split -> values per epoch, for the splits that report `metric` ("loss" or "accuracy")."""
        return {split: [v for _, v in points] for split, points in self._points(metric).items()}

    def _points(self, metric: str) -> dict[str, list[tuple[float, float]]]:
        """split -> (x, value) pairs; x is the row's 1-based "epoch" when it has one, else its position."""
        lines = {}
        for split in COLOURS:
            key = f"{split}_{metric}"
            points = [(float(row.get("epoch", i + 1)), float(row[key]))
                      for i, row in enumerate(self.history) if key in row and math.isfinite(row[key])]
            if points:
                lines[split] = points
        return lines

    def _x_range(self) -> tuple[float, float]:
        last = max((float(row.get("epoch", i + 1)) for i, row in enumerate(self.history)), default=1.0)
        return 1.0, max(float(self.total_epochs or 0), last, 1.0)

    def _panel(self, metric: str) -> str:
        lines = self._points(metric)
        x_low, x_high = self._x_range()
        values = [v for points in lines.values() for _, v in points]
        y_low, y_high = _padded(values)
        y_ticks = _nice_ticks(y_low, y_high)
        if metric == "accuracy":
            y_ticks = [t for t in y_ticks if 0 <= t <= 1]
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        bottom = TOP + plot_h

        def x(value: float) -> float:
            if x_high == x_low:  # one epoch: its point stands in the middle
                return LEFT + plot_w / 2
            return LEFT + INSET + (plot_w - 2 * INSET) * (value - x_low) / (x_high - x_low)

        def y(value: float) -> float:
            return TOP + plot_h * (y_high - value) / (y_high - y_low)

        name, x_label = html.escape(tr(METRIC_WORDS[metric])), tr(self.x_label)
        aria = html.escape(tr("{metric} per {x_label}").format(metric=tr(METRIC_WORDS[metric]), x_label=x_label))
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
                 f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{aria}" '
                 f'style="font-family:{FONT};font-size:{TICK_PX}px;fill:currentColor;overflow:visible">']
        # y: grid lines at round values, their labels right-aligned against the plot
        digits = _decimals(y_ticks)
        for tick in y_ticks:
            ty = y(tick)
            parts.append(f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{LEFT + plot_w}" y2="{ty:.1f}" '
                         f'stroke="currentColor" stroke-opacity="0.12"/>')
            parts.append(f'<text class="y-tick" x="{LEFT - 6}" y="{ty:.1f}" text-anchor="end" '
                         f'dominant-baseline="middle">{tick:.{digits}f}</text>')
        # x: the axis line, integer ticks, the title under them
        parts.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_w}" y2="{bottom}" '
                     f'stroke="currentColor" stroke-opacity="0.45"/>')
        for tick in _epoch_ticks(int(x_low), int(round(x_high))):
            tx = x(tick)
            parts.append(f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 4}" '
                         f'stroke="currentColor" stroke-opacity="0.45"/>')
            parts.append(f'<text class="x-tick" x="{tx:.1f}" y="{bottom + 17}" text-anchor="middle">{tick}</text>')
        parts.append(f'<text class="x-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                     f'style="font-size:{TITLE_PX}px">{html.escape(x_label)}</text>')
        parts.append(f'<text class="y-title" transform="translate(14,{TOP + plot_h / 2:.1f}) rotate(-90)" '
                     f'text-anchor="middle" style="font-size:{TITLE_PX}px">{name}</text>')
        # the data
        for split, points in lines.items():
            colour = COLOURS[split]
            xy = [(x(px), y(py)) for px, py in points]
            if len(xy) > 1:
                coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in xy)
                parts.append(f'<polyline class="line-{split}" fill="none" stroke="{colour}" stroke-width="2" '
                             f'stroke-linejoin="round" points="{coords}"/>')
            for a, b in (xy if len(xy) <= MAX_MARKERS else xy[-1:]):
                parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>')
        if not lines:
            parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
                         f'fill-opacity="0.6">{html.escape(self._waiting())}</text>')
        # legend: above the plot, right-aligned, away from every tick
        legend_x = LEFT + plot_w - sum(26 + _text_width(tr(LABELS[split])) for split in lines)
        for split in lines:
            label = html.escape(tr(LABELS[split]))
            parts.append(f'<g class="legend"><line x1="{legend_x}" y1="{TOP - 16}" x2="{legend_x + 16}" '
                         f'y2="{TOP - 16}" stroke="{COLOURS[split]}" stroke-width="3"/>'
                         f'<text x="{legend_x + 20}" y="{TOP - 16}" dominant-baseline="middle">{label}</text></g>')
            legend_x += 26 + _text_width(tr(LABELS[split]))
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        title = (f"<div style='font-weight:600;font-size:14px;margin-bottom:4px'>{html.escape(self.title)}</div>"
                 if self.title else "")
        return (f"<div class='colabmagic-chart'>{title}<div style='display:flex;flex-wrap:wrap;gap:24px'>"
                f"{self._panel('loss')}{self._panel('accuracy')}</div></div>")

    def __str__(self) -> str:
        if not self.history:
            return f"{self.title}: {self._waiting()}" if self.title else self._waiting()
        keys = [k for k in self.history[-1] if k.endswith(("loss", "accuracy"))]
        header = f"{tr(self.x_label):>5}  " + "  ".join(f"{k:>14}" for k in keys)
        rows = [f"{int(row.get('epoch', i + 1)):>5}  " + "  ".join(f"{row.get(k, float('nan')):>14.4f}" for k in keys)
                for i, row in enumerate(self.history)]
        return "\n".join(([self.title] if self.title else []) + [header] + rows)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _waiting(self) -> str:
        return tr("waiting for the first {x_label}").format(x_label=tr(self.x_label))


def _text_width(text: str) -> int:
    """Pixels a legend label takes at the tick font: ~7 px a letter, ~13 px a wide (CJK) character."""
    return sum(13 if unicodedata.east_asian_width(c) in "WF" else 7 for c in text)


def _padded(values: list[float]) -> tuple[float, float]:
    """The y range: the data's, widened by PAD on both sides (a flat line gets room of its own)."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    span = high - low
    if span < 1e-12:
        span = max(abs(high) * 0.1, 1e-3)
        return low - span / 2, high + span / 2
    return low - PAD * span, high + PAD * span


def _nice_ticks(low: float, high: float, least: int = 4) -> list[float]:
    """At least `least` round values (steps of 1, 2, 2.5 or 5 times a power of ten) inside [low, high]."""
    power = 10 ** math.floor(math.log10(high - low))
    for step in (m * p for p in (power, power / 10, power / 100) for m in (5, 2.5, 2, 1)):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 >= least:
            return [round(k * step, 12) for k in range(first, last + 1)]
    return [low, high]


def _decimals(ticks: list[float]) -> int:
    """Decimals that tell the ticks apart and show them all alike (0.25, 0.50, 0.75)."""
    for digits in range(0, 7):
        if all(abs(t - round(t, digits)) < 1e-9 for t in ticks):
            return digits
    return 6


def _epoch_ticks(first: int, last: int, most: int = 7) -> list[int]:
    """Whole epochs from first to last, at most `most` of them: 1, then multiples of a round step."""
    if last <= first:
        return [first]
    span = last - first
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        step = candidate
        if span / candidate + 1 <= most:
            break
    else:
        step = 10 ** math.ceil(math.log10(span / (most - 1)))
    ticks = [first] + [t for t in range(step, last + 1, step) if t > first]
    if len(ticks) > 1 and ticks[1] - first < step / 2:
        ticks.pop(1)
    return ticks
