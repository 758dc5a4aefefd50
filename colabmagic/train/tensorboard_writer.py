"""The callback that writes a run's per-epoch scalars as TensorBoard events in its logdir.

Tags group the splits in one chart each: loss/train, loss/val, loss/test, accuracy/..., plus lr and
time/epoch_seconds. The step is the 1-based epoch. A resumed run opens the same folder with
`purge_step`, so epochs logged after its checkpoint by the dead process are replaced, not doubled.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from ..errors import require
from .callbacks import Callback, RunInfo

FLUSH_SECONDS = 1.0  # at most one flush (a file write) per second; each epoch's scalars would cost ~0.4 ms
TAGS = {"lr": "lr", "epoch_seconds": "time/epoch_seconds"}


def tag(metric: str) -> str:
    """"train_loss" -> "loss/train"; other names as they are."""
    if metric in TAGS:
        return TAGS[metric]
    split, _, measure = metric.partition("_")
    return f"{measure}/{split}" if measure else metric


def _start_after_earlier_files(logdir: str) -> None:
    """TensorBoard reads a folder's event files in name order, and a name is the second it was created,
    then host, pid and a counter as text: a resumed run's file written in the same second as an earlier
    one can sort before it, and its purge_step would then not drop the earlier file's later epochs.
    Wait for the next second in that case (at most 1 s, only when resuming that quickly)."""
    names = os.listdir(logdir) if os.path.isdir(logdir) else []
    seconds = [int(name.split(".")[3]) for name in names
               if name.startswith("events.out.tfevents.") and name.split(".")[3].isdigit()]
    wait = max(seconds, default=-1) + 1 - time.time()
    if wait > 0:
        time.sleep(wait)


class TensorBoardWriter(Callback):
    def __init__(self, logdir: str | None = None):
        self.logdir = logdir
        self.writer = None
        self.flushed_at = -math.inf

    def on_train_begin(self, run: RunInfo) -> None:
        require("tensorboard", "train")
        from torch.utils.tensorboard import SummaryWriter

        logdir = self.logdir or run.logdir
        if logdir is None:
            return
        purge = run.start_epoch + 1 if run.start_step or run.start_epoch else None
        if purge is not None:
            _start_after_earlier_files(str(logdir))
        self.writer = SummaryWriter(log_dir=str(logdir), purge_step=purge)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.writer is None:
            return
        for name, value in metrics.items():
            self.writer.add_scalar(tag(name), value, global_step=epoch + 1)
        now = time.monotonic()
        if now - self.flushed_at >= FLUSH_SECONDS:  # a killed kernel loses at most this much of the log
            self.writer.flush()
            self.flushed_at = now

    def on_train_end(self, result: Any) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
