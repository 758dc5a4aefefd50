"""Where a run stands: the resumable position besides model and optimizer state.

The epoch in progress and the steps done in it, the epoch's running metric sums (kept on the
device: reading them is a CPU-GPU sync), the history of finished epochs, the training time of
earlier sessions and the RNG state that dropout draws from. `to_checkpoint` and `from_checkpoint`
are the two sides of its part of the checkpoint format (checkpoint.py holds the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Position:
    epoch: int                      # epoch in progress, 0-based
    step: int                       # steps done in it
    loss_sum: torch.Tensor          # this rank's sums over the epoch in progress, on the device
    correct: torch.Tensor
    seen: int = 0                   # samples of the epoch in progress (this rank)
    seen_before: int = 0            # of those, samples trained before this session (a mid-epoch resume)
    samples_run: int = 0            # samples of finished epochs trained in this session (this rank)
    history: list[dict[str, float]] = field(default_factory=list)  # one row per finished epoch
    prior_seconds: float = 0.0      # training time of earlier sessions

    @classmethod
    def start(cls, device: torch.device, sum_dtype: torch.dtype) -> "Position":
        return cls(0, 0, torch.zeros((), dtype=sum_dtype, device=device),
                   torch.zeros((), dtype=torch.int64, device=device))

    @property
    def trained(self) -> int:
        """Samples this rank trained in this session."""
        return self.samples_run + self.seen - self.seen_before

    def finish_epoch(self, row: dict[str, float]) -> None:
        """Record a finished epoch and start the next; history, sums and position move together, so an
        interrupt anywhere leaves them consistent."""
        self.history.append(row)
        self.samples_run += self.seen - self.seen_before
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen = self.seen_before = 0
        self.epoch, self.step = self.epoch + 1, 0

    def to_checkpoint(self, *, world: int, steps_per_epoch: int, train_seconds: float) -> dict[str, Any]:
        mid_epoch = self.step > 0
        return {
            "epoch": self.epoch, "step": self.step, "global_step": self.epoch * steps_per_epoch + self.step,
            "steps_per_epoch": steps_per_epoch,
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if self.loss_sum.device.type == "cuda" else None},
            # this rank's sums scaled to all ranks, so a mid-epoch resume reports the same epoch metrics
            "sums": {"loss_sum": float(self.loss_sum.item()) * world if mid_epoch else 0.0,
                     "correct": int(self.correct.item()) * world if mid_epoch else 0,
                     "samples": self.seen * world if mid_epoch else 0},
            "history": [dict(row) for row in self.history],
            "train_seconds": train_seconds,
        }

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], device: torch.device, sum_dtype: torch.dtype, *,
                        world: int, main: bool) -> "Position":
        """The saved position; rank 0 (`main`) also takes back the dropout RNG streams."""
        position = cls.start(device, sum_dtype)
        rng = state["rng"]
        if main:  # under DDP other ranks keep their own dropout streams
            torch.set_rng_state(rng["torch"])
            if rng.get("cuda") is not None and device.type == "cuda" and len(rng["cuda"]) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(rng["cuda"])
        position.epoch, position.step = int(state["epoch"]), int(state["step"])
        sums = state.get("sums") or {}
        if position.step and sums:
            # exact alone; under DDP each rank takes an equal part (the epoch's train metrics are then approximate)
            position.loss_sum.fill_(sums["loss_sum"] / world)
            position.correct.fill_(round(int(sums["correct"]) / world))
            position.seen = position.seen_before = int(sums["samples"]) // world
        position.history = [dict(row) for row in state.get("history", [])]
        position.prior_seconds = float(state.get("train_seconds", 0.0))
        return position
