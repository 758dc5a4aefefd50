"""A run's checkpoints: everything a resume needs at the current position, written on the writer
thread (checkpoint.py) and announced to the callbacks once on disk, not when the write starts."""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import torch

from .checkpoint import CheckpointWriter
from .parts import Parts
from .plan import Plan
from .saved import checkpoint_fields

# Epoch ends closer than this to the previous checkpoint skip theirs (the last epoch never does):
# a checkpoint costs ~2 ms even for a small model, which would be +0.1 ms per step on 20-step
# epochs, and a crash then loses at most this much training.
EPOCH_CHECKPOINT_GAP = 1.0  # seconds


class Checkpoints:
    def __init__(self, plan: Plan, parts: Parts, *, world: int, started: float, announce: Callable[[str], None],
                 check_finite: Callable[[float], None]):
        self.plan, self.parts, self.world = plan, parts, world
        self.announce, self.check_finite = announce, check_finite
        self.writer = CheckpointWriter(plan.folders.checkpoint_dir, plan.config.keep_checkpoints)
        self.path: str | None = None   # the newest one written
        self.saved_at = -math.inf      # perf_counter() of the newest one
        self.started = started         # perf_counter() at this session's first step (train_seconds)

    def state(self) -> dict[str, Any]:
        """Everything a resume needs, at the current position."""
        plan, parts = self.plan, self.parts
        position = parts.position
        return {
            "template": plan.template, "dataset": plan.dataset_info, "config": plan.config.to_dict(),
            "fingerprint": plan.fingerprint, "phases": [dict(p) for p in plan.phases],
            **checkpoint_fields(plan.dataset),  # classes, preprocessing: load() predicts from any checkpoint
            "threads": torch.get_num_threads(),  # the intra-op count this run trains with (see loop.fit)
            "model": parts.model.state_dict(), "optimizer": parts.optimizer.state_dict(),
            "scheduler": parts.scheduler.state_dict() if parts.scheduler is not None else None,
            "scaler": parts.scaler.state_dict() if parts.scaler is not None else None,
            **position.to_checkpoint(world=self.world, steps_per_epoch=parts.steps,
                                     train_seconds=position.prior_seconds + time.perf_counter() - self.started),
        }

    def save(self, *, wait: bool = False) -> str:
        """Checkpoint the current position, on the writer thread unless `wait`."""
        if self.parts.position.step:  # mid-epoch: never save weights that a NaN loss has broken
            self.check_finite(float(self.parts.position.loss_sum.item()))
        self._announce(self.writer.wait())
        path = str(self.writer.save(self.state(), wait=wait))
        self.path, self.saved_at = path, time.perf_counter()
        if wait:
            self._announce(path)
        return path

    def save_at_epoch_end(self, last: bool) -> None:
        if last or time.perf_counter() - self.saved_at >= EPOCH_CHECKPOINT_GAP:
            self.save()

    def landed(self) -> None:
        """Announce a checkpoint that reached the disk since the last look (no wait)."""
        self._announce(self.writer.finished())

    def drain(self) -> None:
        """Wait for the checkpoint in flight and announce it."""
        self._announce(self.writer.wait())

    def close(self) -> None:
        self.writer.close()

    def _announce(self, path) -> None:
        if path is not None:
            self.announce(str(path))
