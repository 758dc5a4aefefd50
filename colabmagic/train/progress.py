"""How a training run looks while it runs: a notebook view and a Keras-like console view.

Both are plain callbacks over the numbers the loop reports. IPython and tqdm load lazily, so a
script using `train()` without views never pays for them.

The notebook view is two displays updated in place (a progress bar, then the chart), not a widget:
a saved notebook keeps each display's last state, so GitHub, nbviewer and exported HTML (which
draw no widgets) show the finished bar and the whole chart, not the state they started in.
"""

from __future__ import annotations

import html
import sys
import time
from dataclasses import dataclass, field

from ..locale import tr
from .callbacks import Callback, Progress, RunInfo
from .chart import COLOURS, FONT, TrainingChart

SHOWN_METRICS = ("loss", "accuracy")
REDRAW_SECONDS = 0.1   # the bar redraws at most ~10 times a second, however often the loop reports
BAR_CHARS = 24         # width of the text bar


def in_notebook() -> bool:
    """True inside a Jupyter kernel (rich display available), False in a terminal or a script."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def default_views(quiet: bool = False) -> list[Callback]:
    if quiet:
        return []
    return [NotebookView()] if in_notebook() else [ConsoleView()]


def format_metrics(metrics: dict[str, float], *, prefix: str = "") -> str:
    return " - ".join(f"{prefix}{k}: {v:.4f}" for k, v in metrics.items() if k.endswith(SHOWN_METRICS))


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class ProgressBar:
    """The run's progress as a display: an HTML bar in a notebook, one text line everywhere else."""

    title: str
    total: int                          # steps of the whole run
    epochs: int
    done: int = 0                       # steps done, resumed ones included
    epoch: int = 0                      # 0-based epoch the last report came from
    metrics: dict[str, float] = field(default_factory=dict)  # running averages in this epoch
    samples_per_second: float = 0.0
    elapsed: float = 0.0                # seconds of training in this session
    start: int = 0                      # step this session started from (resume)
    state: str = "running"              # running, done, interrupted, stopped

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0

    def _status(self) -> str:
        """epoch 3/5, or how it ended."""
        if self.state == "done":
            return tr("done: {epochs}/{epochs} epochs").format(epochs=self.epochs)
        where = tr("epoch {epoch}/{epochs}").format(epoch=min(self.epoch + 1, self.epochs), epochs=self.epochs)
        # the states are phrases marked in stopping.py ("interrupted", "stopped")
        return tr("{state} at {where}").format(state=tr(self.state), where=where) if self.state != "running" else where

    def _numbers(self) -> list[str]:
        parts = [f"{self.fraction:.0%}", tr("{done:,}/{total:,} steps").format(done=self.done, total=self.total)]
        if self.elapsed > 0:
            parts.append(format_seconds(self.elapsed))
            ran = self.done - self.start
            if self.state == "running" and 0 < ran < self.total - self.start:
                parts.append(tr("ETA {time}").format(time=format_seconds(self.elapsed / ran * (self.total - self.done))))
        if self.samples_per_second:
            parts.append(tr("{rate:,.0f} samples/s").format(rate=self.samples_per_second))
        return parts

    def _metrics(self) -> list[str]:
        return [f"{k} {v:.4f}" for k, v in self.metrics.items() if k.endswith(SHOWN_METRICS)]

    def __str__(self) -> str:
        filled = round(self.fraction * BAR_CHARS)
        bar = "\u2588" * filled + "\u2591" * (BAR_CHARS - filled)
        line = f"{self._status()} |{bar}| " + " | ".join(self._numbers() + self._metrics())
        return f"{self.title}\n{line}" if self.title else line

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        colour = {"done": COLOURS["test"], "running": COLOURS["train"]}.get(self.state, COLOURS["val"])
        title = f"<div style='font-weight:600'>{html.escape(self.title)}</div>" if self.title else ""
        numbers = " · ".join(html.escape(p) for p in self._numbers())
        metrics = " · ".join(html.escape(p) for p in self._metrics())
        percent = f"{self.fraction * 100:.1f}"
        return (f"<div class='colabmagic-progress' style='font-family:{FONT};font-size:13px;line-height:1.5'>"
                f"{title}<div style='display:flex;flex-wrap:wrap;align-items:center;column-gap:12px'>"
                f"<span style='min-width:9em'>{html.escape(self._status())}</span>"
                f"<span role='progressbar' aria-valuemin='0' aria-valuemax='{self.total}' aria-valuenow='{self.done}' "
                f"style='display:inline-block;width:240px;height:8px;border-radius:4px;overflow:hidden;"
                f"background:rgba(128,128,128,0.25)'><span style='display:block;height:100%;width:{percent}%;"
                f"background:{colour}'></span></span>"
                f"<span style='font-variant-numeric:tabular-nums'>{numbers}</span>"
                f"<span style='font-variant-numeric:tabular-nums'>{metrics}</span></div></div>")


class NotebookView(Callback):
    """A progress bar over all steps and a loss/accuracy chart below it, each updated in place.

    A resumed run draws the epochs it already trained; the last update leaves the final state
    (100 %, or where it was interrupted) in the notebook.
    """

    def __init__(self):
        self.bar = self.bar_handle = self.chart = self.chart_handle = None
        self.drawn_at = 0.0

    def on_train_begin(self, run: RunInfo) -> None:
        from IPython.display import display

        values = dict(model=run.model, dataset=run.dataset, device=run.device, samples=run.train_size,
                      parameters=run.num_params, epoch=run.start_epoch + 1)
        title = (tr("{model} on {dataset} ({device}): {samples:,} samples, {parameters:,} parameters, resumed at "
                    "epoch {epoch}") if run.start_step
                 else tr("{model} on {dataset} ({device}): {samples:,} samples, {parameters:,} parameters")).format(**values)
        self.bar = ProgressBar(title=title, total=run.epochs * run.steps_per_epoch, epochs=run.epochs,
                               done=run.start_step, start=run.start_step, epoch=run.start_epoch)
        self.bar_handle = display(self.bar, display_id=True)
        history = [{"epoch": i + 1, **row} for i, row in enumerate(run.history)]
        self.chart = TrainingChart(history=history, total_epochs=run.epochs)
        self.chart_handle = display(self.chart, display_id=True)

    def on_progress(self, progress: Progress) -> None:
        if self.bar is None:
            return
        bar = self.bar
        bar.done, bar.epoch, bar.metrics = progress.global_step, progress.epoch, dict(progress.metrics)
        bar.samples_per_second, bar.elapsed = progress.samples_per_second, progress.elapsed_seconds
        now = time.monotonic()
        if now - self.drawn_at >= REDRAW_SECONDS:
            self.drawn_at = now
            self.bar_handle.update(bar)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.chart is None:
            return
        self.chart.history.append({"epoch": epoch + 1, **metrics})
        self.chart_handle.update(self.chart)
        self.bar.metrics = {k[len("train_"):]: v for k, v in metrics.items() if k.startswith("train_")}
        self.drawn_at = time.monotonic()
        self.bar_handle.update(self.bar)

    def on_train_end(self, result) -> None:
        if self.bar is None:  # a finished run brought back: nothing was trained, the summary says so
            return
        bar = self.bar
        if getattr(result, "interrupted", False):
            bar.state = "interrupted"
        else:
            bar.state, bar.done, bar.epoch = "done", bar.total, bar.epochs - 1
        seconds = getattr(result, "train_seconds", None)
        if seconds:
            bar.elapsed = seconds
        self.bar_handle.update(bar)  # always: the saved notebook keeps this last state


class ConsoleView(Callback):
    """One Keras-like row per epoch; a transient bar in between when stderr is a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.bar = None
        self.run = None

    def on_train_begin(self, run: RunInfo) -> None:
        self.run = run
        self.bar = None
        self.epoch_started = time.perf_counter()
        values = dict(model=run.model, dataset=run.dataset, samples=run.train_size, parameters=run.num_params,
                      device=run.device, epoch=run.start_epoch + 1)
        line = (tr("Training {model} on {dataset}: {samples} samples, {parameters:,} parameters, device {device} "
                   "(resumed at epoch {epoch})") if run.start_step
                else tr("Training {model} on {dataset}: {samples} samples, {parameters:,} parameters, device {device}"))
        print(line.format(**values), file=self.stream, flush=True)

    def on_progress(self, progress: Progress) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.steps_per_epoch, leave=False, unit=tr("step"), mininterval=0.1)
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in progress.metrics.items()}, refresh=False)
        self.bar.update(progress.step - self.bar.n)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        seconds = metrics.get("epoch_seconds", time.perf_counter() - self.epoch_started)
        self.epoch_started = time.perf_counter()
        width = len(str(self.run.epochs))
        print(tr("Epoch {epoch}/{epochs} - {seconds:.2f}s - {metrics}").format(
            epoch=f"{epoch + 1:>{width}}", epochs=self.run.epochs, seconds=seconds, metrics=format_metrics(metrics)),
            file=self.stream, flush=True)

    def on_checkpoint(self, path: str) -> None:
        pass  # one row per epoch is the contract; the summary names the checkpoint

    def on_train_end(self, result) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
