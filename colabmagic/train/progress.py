"""How a training run looks while it runs: a notebook view and a Keras-like console view.

Both are plain callbacks over the numbers the loop reports. IPython and tqdm load lazily, so a
script using `train()` without views never pays for them.
"""

from __future__ import annotations

import sys
import time

from .callbacks import Callback, Progress, RunInfo
from .chart import TrainingChart

SHOWN_METRICS = ("loss", "accuracy")


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


class NotebookView(Callback):
    """A tqdm.auto progress bar over all steps, plus a loss/accuracy chart updated in place per epoch."""

    def on_train_begin(self, run: RunInfo) -> None:
        from IPython.display import display
        from tqdm.auto import tqdm

        total = run.epochs * run.steps_per_epoch
        self.chart = TrainingChart(total_epochs=run.epochs, title=f"{run.model} on {run.dataset} ({run.device})")
        self.chart_handle = display(self.chart, display_id=True)
        # mininterval caps redraws at ~10/s however often the loop reports
        self.bar = tqdm(total=total, initial=run.start_step, unit="step", mininterval=0.1,
                        desc=f"epoch {run.start_epoch + 1}/{run.epochs}", dynamic_ncols=True)
        self.epochs = run.epochs

    def on_progress(self, progress: Progress) -> None:
        self.bar.desc = f"epoch {progress.epoch + 1}/{self.epochs}"
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in progress.metrics.items()}, refresh=False)
        self.bar.update(progress.global_step - self.bar.n)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.chart.history.append(dict(metrics))
        self.chart_handle.update(self.chart)

    def on_train_end(self, result) -> None:
        self.bar.close()


class ConsoleView(Callback):
    """One Keras-like row per epoch; a transient bar in between when stderr is a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def on_train_begin(self, run: RunInfo) -> None:
        self.run = run
        self.bar = None
        self.epoch_started = time.perf_counter()
        where = f" (resumed at epoch {run.start_epoch + 1})" if run.start_step else ""
        print(f"Training {run.model} on {run.dataset}: {run.train_size} samples, {run.num_params:,} parameters, "
              f"device {run.device}{where}", file=self.stream, flush=True)

    def on_progress(self, progress: Progress) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.steps_per_epoch, leave=False, unit="step", mininterval=0.1)
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in progress.metrics.items()}, refresh=False)
        self.bar.update(progress.step - self.bar.n)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        seconds = metrics.get("epoch_seconds", time.perf_counter() - self.epoch_started)
        self.epoch_started = time.perf_counter()
        width = len(str(self.run.epochs))
        print(f"Epoch {epoch + 1:>{width}}/{self.run.epochs} - {seconds:.2f}s - {format_metrics(metrics)}",
              file=self.stream, flush=True)

    def on_checkpoint(self, path: str) -> None:
        pass  # one row per epoch is the contract; the summary names the checkpoint

    def on_train_end(self, result) -> None:
        if self.bar is not None:
            self.bar.close()
