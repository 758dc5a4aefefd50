"""What the training loop tells its observers: plain numbers, never tensors.

The loop calls `on_progress` at most ~10 times a second (reading metrics off the device is a
CPU-GPU sync point, so it happens only then), and `on_epoch_end` once per epoch with the
epoch's averaged metrics. Views (notebook, console), the TensorBoard writer and the session
clock are all callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunInfo:
    name: str                  # run name, also the folder under runs/ and checkpoints/
    model: str                 # template name
    dataset: str
    device: str                # "cpu", "cuda:0", ...
    epochs: int                # total epochs of the run
    steps_per_epoch: int
    start_epoch: int = 0       # > 0 when resuming
    start_step: int = 0        # global step resumed from
    num_params: int = 0
    train_size: int = 0
    logdir: str | None = None
    checkpoint_dir: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # epochs done before (resume): redraw them
    notes: list[str] = field(default_factory=list)  # shown before training (a renamed run, a resize, ...)


@dataclass
class Progress:
    epoch: int                 # 0-based
    step: int                  # steps done in this epoch
    steps_per_epoch: int
    global_step: int
    metrics: dict[str, float]  # running averages this epoch: "loss", "accuracy"
    samples_per_second: float
    elapsed_seconds: float


class Callback:
    """Override what you need; every hook is optional."""

    def on_train_begin(self, run: RunInfo) -> None:
        pass

    def on_progress(self, progress: Progress) -> None:
        pass

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """metrics: train_loss, train_accuracy, val_*/test_* when evaluated, lr, epoch_seconds."""

    def on_checkpoint(self, path: str) -> None:
        pass

    def on_train_end(self, result: Any) -> None:
        pass
