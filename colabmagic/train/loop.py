"""The training loop: tensors resident on the device, batches as index slices, metrics read ~10x a second.

Why it is fast: no DataLoader for in-memory data (a batch is `x[order[i:i+b]]` on the device),
augmentation is batched on the device, metric sums stay on the device and are read only when a
view refreshes or an epoch ends (each read is a CPU-GPU sync point), and the per-step host work is
a handful of kernel launches plus one perf_counter() that decides whether anything else is due.
Everything else (refresh, checkpoint, thread re-check, DDP agreement) falls due on a schedule
(schedule.py), as in airbench's and nanoGPT's loops, where the step holds only the step.

Why it is exact on the CPU: the batch order of epoch E is a permutation drawn from its own
generator seeded by (seed, E); the augmentation generator is reseeded from (seed, E, step, rank)
before every batch; a checkpoint stores the global torch RNG state (dropout) and the epoch's
running metric sums (position.py). A run killed at any step and resumed from its newest checkpoint
finishes with the same weights and metrics, bit for bit, as one that never stopped.

The jobs are split: plan.py decides, parts.py assembles what a process trains with, this module
runs the steps, checkpointing.py saves, position.py holds the resumable position, outcome.py builds
what the run returns, and the caller (a magic, a script) words the resume line from
TrainingInterrupted.resume.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import signal
import time
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F

from ..errors import Message, Option, TrainingDiverged
from ..locale import tr
from .callbacks import Callback, Progress
from .checkpointing import Checkpoints
from .device import synchronize
from .evaluation import epoch_sums, held_out
from .notes import tell
from .outcome import build_result, finished_result, interruption
from .parts import assemble, run_info
from .plan import Plan
from .result import TrainResult
from .schedule import Every, Schedule
from .stopping import StopRequest, deferred, registered
from .thread_watch import ThreadWatch
from .threads import Choice, choose_later, limited


@dataclass
class Distributed:
    """This process's place in a torch.distributed group (set up by worker.py)."""

    rank: int
    world: int
    sync_every: int = 25  # steps between the all-reduces that agree on stopping (all ranks stop together)

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        torch.distributed.all_reduce(tensor)
        return tensor

    def agree(self, signalled: bool, loss_sum: torch.Tensor) -> tuple[bool, bool]:
        """(whether any rank was signalled, whether any rank's loss stopped being finite), on every rank."""
        nonfinite = (~torch.isfinite(loss_sum)).to(torch.float32).reshape(1)
        flags = torch.cat([torch.tensor([1.0 if signalled else 0.0], device=loss_sum.device), nonfinite])
        self.all_reduce(flags)
        requested, diverged = flags.tolist()  # the sync point of the agreement
        return bool(requested), bool(diverged)

    def first_reason(self, reason: str | None) -> str | None:
        """The reason of the lowest rank that has one: a stop asked of one rank is worded the same on all."""
        gathered: list[str | None] = [None] * self.world
        torch.distributed.all_gather_object(gathered, reason)
        return next((r for r in gathered if r), None)


def fit(plan: Plan, callbacks: Iterable[Callback] = (), dist: Distributed | None = None,
        signals: tuple[int, ...] = (signal.SIGINT,)) -> TrainResult:
    """Train `plan.model` as `plan.config` says (see the module docstring).

    A KeyboardInterrupt checkpoints the last finished step and raises TrainingInterrupted. A resume
    of a finished run trains nothing and returns its saved result.
    """
    run = _Run(plan, list(callbacks), dist)
    if plan.finished:
        parts = assemble(plan, rank=run.rank, world=run.world)  # restores (and so checks) the optimizer and position
        plan.folders.create()  # and drops .part leftovers of a process that died while writing
        result = finished_result(plan, parts.model)
        tell(plan.notes)
        for callback in callbacks:
            callback.on_train_end(result)
        return result
    if dist is None:  # a DDP run's notes are told once, by its launcher
        tell(plan.notes)
    # intra-op threads from the cores really free (a busy 2-core machine runs 3-6x slower on 2); a
    # resume keeps the count its checkpoint ran with: a CPU run is bit-exact only for one count
    threads = plan.config.threads
    if not threads and plan.resume_state is not None and "threads" not in plan.explicit:
        threads = int(plan.resume_state.get("threads") or 0)
    # auto starts at the cores free right now, settles at the first step after its CPU sample (no wait)
    # and is re-checked as it trains (thread_watch.py)
    choice = choose_later(threads, plan.device, start_low=dist is None)
    with limited(choice.threads), deferred(run.signalled, signals), registered(run.signalled):
        return run.train(choice)


class _Stop(Exception):
    """Internal: leave the step loop to checkpoint and stop."""


class _Run:
    """One process's share of a run: the step loop, and what falls due between its steps."""

    def __init__(self, plan: Plan, callbacks: list[Callback], dist: Distributed | None):
        self.plan, self.config, self.device = plan, plan.config, plan.device
        self.callbacks = callbacks
        self.dist = dist
        self.rank, self.world = (dist.rank, dist.world) if dist else (0, 1)
        self.main = self.rank == 0
        self.signalled = StopRequest()
        # under DDP a signal counts only once all ranks agree on it (agree); alone, at once
        self.stop = StopRequest() if dist else self.signalled
        self.autocast = (torch.autocast(self.device.type, dtype=plan.autocast) if plan.autocast is not None
                         else contextlib.nullcontext())

    def train(self, threads: Choice) -> TrainResult:
        plan, cfg = self.plan, self.config
        self.parts = parts = assemble(plan, rank=self.rank, world=self.world)
        position = parts.position
        if self.main:
            plan.folders.create()
        self.emit("on_train_begin", run_info(plan, parts))
        synchronize(self.device)
        self.started = now = time.perf_counter()
        self.checkpoints = Checkpoints(plan, parts, world=self.world, started=now, check_finite=self.check_finite,
                                       announce=lambda path: self.emit("on_checkpoint", path))
        step = position.epoch * parts.steps + position.step  # global steps done
        self.checkpoint_due = Every(self.checkpoint_mid_epoch, seconds=cfg.checkpoint_every * 60.0, start=now)
        self.thread_watch = (ThreadWatch(threads.threads, threads.ceiling, first_at=threads.ready_at,
                                         watch=self.dist is None) if threads.ready_at != math.inf else None)
        self.schedule = Schedule([  # in this order when several fall due at once: agree before acting
            Every(lambda now, step: self.agree(), steps=self.dist.sync_every, step=step) if self.dist else None,
            Every(self.refresh, seconds=1.0 / cfg.refresh_per_second, start=now),
            self.checkpoint_due, self.thread_watch])
        try:
            self.epochs()
            self.checkpoints.drain()
        except _Stop:  # under DDP every rank is here, at the same step
            if self.dist:
                own = self.signalled.reason if self.signalled.requested else None
                self.signalled.reason = self.dist.first_reason(own) or self.signalled.reason
            self.interrupted()
        except KeyboardInterrupt:  # a second signal: at once, wherever this rank was
            self.interrupted()
        finally:
            self.checkpoints.close()
        synchronize(self.device)
        result = self.result(interrupted=False)
        self.emit("on_train_end", result)
        return result

    def epochs(self) -> None:
        cfg, parts, schedule, stop = self.config, self.parts, self.schedule, self.stop
        x, y, normalise = parts.data.x_train, parts.data.y_train, parts.data.normalise
        net, update, smoothing, autocast = parts.net, parts.update, cfg.label_smoothing, self.autocast
        augment, generator = parts.augment, parts.augment_generator
        position, loss_sum, correct = parts.position, parts.position.loss_sum, parts.position.correct
        batch, steps, shard = parts.batch, parts.steps, parts.shard
        if time.perf_counter() >= schedule.next_time:  # the set-up outlasted the thread sample: settle first
            schedule.run(time.perf_counter(), position.epoch * steps + position.step)
        while position.epoch < cfg.epochs:
            epoch = position.epoch
            self.epoch_started = time.perf_counter()
            order = self.order(epoch).to(self.device)
            augment_seed = derive_seed("augment", cfg.seed, epoch, self.rank) if augment is not None else 0
            net.train()
            if self.thread_watch is not None:  # the epoch end's pause is not a step
                self.thread_watch.restart(time.perf_counter(), epoch * steps + position.step)
                schedule.rearm()
            for step in range(position.step, steps):
                index = order[step * batch:(step + 1) * batch]
                xb, yb = x[index], y[index]
                if augment is not None:
                    xb = augment(xb, generator.manual_seed(augment_seed + step))
                if normalise is not None:
                    xb = normalise(xb)
                with autocast:
                    out = net(xb)
                    loss = F.cross_entropy(out, yb, label_smoothing=smoothing)
                update(loss)
                n = min(batch, shard - step * batch)
                loss_sum.add_(loss.detach(), alpha=n)
                correct.add_((out.argmax(1) == yb).sum())
                position.seen += n
                position.step = step + 1
                now, done = time.perf_counter(), epoch * steps + step + 1  # the only clock read per step
                if now >= schedule.next_time or done >= schedule.next_step or stop.requested:
                    if stop.requested:
                        raise _Stop
                    schedule.run(now, done)
            self.end_epoch(epoch)

    # --- what falls due between steps ---------------------------------------------------------------
    def refresh(self, now: float, step: int) -> None:
        """Read the metric sums and show them (~refresh_per_second times a second)."""
        position = self.parts.position
        loss = position.loss_sum.item()  # CPU-GPU sync point: ~refresh_per_second/s
        if math.isfinite(loss) or not self.dist:  # under DDP the ranks' next agreement ends it on all together
            self.check_finite(loss)
            if self.main and self.callbacks:
                self.emit_progress(now, position.epoch, position.step, loss, position.correct.item(), position.seen)
        self.checkpoints.landed()

    def checkpoint_mid_epoch(self, now: float, step: int) -> None:
        if self.parts.position.step < self.parts.steps and self.main:  # the epoch end checkpoints anyway
            self.checkpoints.save()

    def agree(self) -> None:
        """DDP: every rank learns at the same step whether any rank was signalled or diverged, and
        stops with the others: a rank that stopped alone would leave them waiting in an all-reduce."""
        requested, diverged = self.dist.agree(self.signalled.requested, self.parts.position.loss_sum)
        if diverged:
            self.check_finite(math.nan)  # on every rank at once, with the same message
        self.stop.requested = requested
        if requested and self.parts.position.epoch < self.config.epochs:  # after the last: the finished run
            raise _Stop

    def end_epoch(self, epoch: int) -> None:
        parts, position = self.parts, self.parts.position
        all_reduce = self.dist.all_reduce if self.dist else None
        loss_sum, correct, seen = epoch_sums(parts, all_reduce)
        self.check_finite(loss_sum)
        metrics = {"train_loss": loss_sum / max(seen, 1), "train_accuracy": correct / max(seen, 1),
                   **held_out(parts, autocast=self.autocast, rank=self.rank, world=self.world, all_reduce=all_reduce)}
        metrics["lr"] = float(parts.optimizer.param_groups[0]["lr"])
        metrics["epoch_seconds"] = time.perf_counter() - self.epoch_started
        position.finish_epoch({"epoch": epoch + 1, **metrics})
        if self.main:
            self.checkpoints.save_at_epoch_end(last=position.epoch == self.config.epochs)
        self.emit_progress(time.perf_counter(), epoch, parts.steps, loss_sum, correct, seen)
        self.emit("on_epoch_end", epoch, dict(metrics))
        self.checkpoint_due.restart(time.perf_counter(), 0)  # the epoch's checkpoint restarts the mid-epoch clock
        self.schedule.rearm()
        if self.dist:
            self.agree()  # every epoch end too: a signal never waits long for the next sync
        elif self.stop.requested and position.epoch < self.config.epochs:  # after the last: the finished run
            raise _Stop

    # --- metrics, the end and the callbacks ---------------------------------------------------------
    def check_finite(self, loss_sum: float) -> None:
        """A NaN or infinite loss ends the run at once, before a checkpoint can save broken weights."""
        if math.isfinite(loss_sum):
            return
        self.checkpoints.close()  # a checkpoint in flight holds finite weights: let it land
        what = "nan" if math.isnan(loss_sum) else tr("infinite")
        position = self.parts.position
        raise TrainingDiverged(Message.of(
            tr("The loss became {what} by epoch {epoch}, step {step} ({used}): lower {lr} and train again"),
            what=what, epoch=position.epoch + 1, step=position.step,
            used=Option("lr", f"{self.config.lr:g}", literal=True), lr=Option("lr")))

    def emit_progress(self, now: float, epoch: int, step: int, loss: float, correct: float, seen: int) -> None:
        elapsed, steps = now - self.started, self.parts.steps
        self.emit("on_progress", Progress(
            epoch=epoch, step=step, steps_per_epoch=steps, global_step=epoch * steps + step,
            metrics={"loss": loss / max(seen, 1), "accuracy": correct / max(seen, 1)},
            samples_per_second=self.parts.position.trained * self.world / elapsed if elapsed > 0 else 0.0,
            elapsed_seconds=elapsed))

    def order(self, epoch: int) -> torch.Tensor:
        """This rank's batch order for `epoch`: a permutation fixed by (seed, epoch), strided across ranks."""
        generator = torch.Generator().manual_seed(derive_seed("order", self.config.seed, epoch))
        order = torch.randperm(len(self.parts.data.y_train), generator=generator)
        if self.world > 1:  # rank r takes every world-th sample, so step i of all ranks = global batch i
            order = order[self.rank:self.parts.shard * self.world:self.world]
        return order

    def interrupted(self) -> None:
        """Checkpoint the last finished step, tell the callbacks, raise TrainingInterrupted."""
        if self.main:
            self.checkpoints.save(wait=True)
        result = self.result(interrupted=True)
        self.emit("on_train_end", result)
        raise interruption(self.plan, result, reason=self.signalled.reason, position=self.parts.position,
                           steps=self.parts.steps, checkpoint_path=self.checkpoints.path) from None

    def result(self, *, interrupted: bool) -> TrainResult:
        trained = self.parts.position.trained
        return build_result(self.plan, self.parts.model, self.parts.position.history,
                            train_seconds=time.perf_counter() - self.started, samples=trained * self.world,
                            interrupted=interrupted, checkpoint_path=self.checkpoints.path,
                            extra={"rank_samples": trained})

    def emit(self, hook: str, *args) -> None:
        if self.main:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)


def derive_seed(purpose: str, *numbers: int) -> int:
    """A 62-bit seed from a purpose and numbers: streams for different epochs/ranks never overlap."""
    digest = hashlib.blake2b(":".join([purpose, *map(str, numbers)]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 2
