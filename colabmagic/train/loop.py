"""The training loop: tensors resident on the device, batches as index slices, metrics read ~10x a second.

Why it is fast: no DataLoader for in-memory data (a batch is `x[order[i:i+b]]` on the device),
augmentation is batched on the device, metric sums stay on the device and are read only when a
view refreshes or an epoch ends (each read is a CPU-GPU sync point), and the per-step host work is
a handful of kernel launches plus one perf_counter() that decides whether anything else is due.

Why it is exact on the CPU: the batch order of epoch E is a permutation drawn from its own
generator seeded by (seed, E); the augmentation generator is reseeded from (seed, E, step, rank)
before every batch; a checkpoint stores the global torch RNG state (dropout) and the epoch's
running metric sums (position.py). A run killed at any step and resumed from its newest checkpoint
finishes with the same weights and metrics, bit for bit, as one that never stopped.

The jobs are split: plan.py decides, this module trains and checkpoints, position.py holds the
resumable position, outcome.py builds what the run returns, and the caller (a magic, a script)
words the resume line from TrainingInterrupted.resume.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, DataError, TrainingDiverged, TrainingInterrupted
from .augment import Augmentation
from .callbacks import Callback, Progress, RunInfo
from .checkpoint import CheckpointWriter
from .data.dataset import Dataset
from .data.images import image_stats
from .device import device_name, reset_peak_memory, synchronize
from .memory import images_stay_raw, reset_peak_rss
from .notes import tell
from .outcome import build_result, finished_result, python_call, resume_options
from .plan import Plan
from .position import Position
from .result import TrainResult
from .saved import checkpoint_fields
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

    def first_reason(self, reason: str | None) -> str | None:
        """The reason of the lowest rank that has one: a stop asked of one rank is worded the same on all."""
        gathered: list[str | None] = [None] * self.world
        torch.distributed.all_gather_object(gathered, reason)
        return next((r for r in gathered if r), None)


# Epoch ends closer than this to the previous checkpoint skip theirs (the last epoch never does):
# a checkpoint costs ~2 ms even for a small model, which would be +0.1 ms per step on 20-step
# epochs, and a crash then loses at most this much training.
EPOCH_CHECKPOINT_GAP = 1.0  # seconds


class StopRequest:
    """Set by the first SIGINT (kernel interrupt, Ctrl-C), a worker's SIGTERM or request_stop()."""

    def __init__(self):
        self.requested = False
        self.signals = 0
        self.reason = "interrupted"   # what the stop message says: "interrupted", "stopped (session expired)"


_RUNNING: set[StopRequest] = set()   # the stop requests of every fit() and launch() running in this process
_RUNNING_LOCK = threading.Lock()


def request_stop(reason: str = "stopped") -> int:
    """Ask every run in this process (a fit(), or a `devices=N` launch waiting for its workers) to stop
    at its next step boundary, checkpoint and end as an interrupt does (TrainingInterrupted with the
    resume options and `reason` in its message). Safe from any thread, e.g. a session-expiry timer.
    Returns how many runs were asked."""
    with _RUNNING_LOCK:
        for stop in _RUNNING:
            stop.reason = reason
            stop.requested = True
        return len(_RUNNING)


def fit(plan: Plan, callbacks: Iterable[Callback] = (), dist: Distributed | None = None,
        signals: tuple[int, ...] = (signal.SIGINT,)) -> TrainResult:
    """Train `plan.model` as `plan.config` says (see the module docstring).

    A KeyboardInterrupt checkpoints the last finished step and raises TrainingInterrupted. A resume
    of a finished run trains nothing and returns its saved result.
    """
    run = _Run(plan, list(callbacks), dist)
    if plan.finished:
        run.prepare()  # restores (and so checks) the optimizer and position like any resume
        plan.folders.create()  # and drops .part leftovers of a process that died while writing
        result = finished_result(plan, run.model)
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
    # auto starts at the current count and settles at the first step after its CPU sample (no wait)
    choice = choose_later(threads, plan.device)
    with limited(choice.threads), _deferred(run.signalled, signals), registered(run.signalled):
        return run.train(choice)


@contextlib.contextmanager
def registered(stop: StopRequest):
    """While the block runs, request_stop() reaches `stop`."""
    with _RUNNING_LOCK:
        _RUNNING.add(stop)
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(stop)


@contextlib.contextmanager
def _deferred(stop: StopRequest, signals: tuple[int, ...]):
    """The first signal asks for a stop at the next step boundary, where the run is consistent and
    can be checkpointed; a second one interrupts at once. Only the main thread can catch signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop.signals += 1
        if stop.signals > 1:
            raise KeyboardInterrupt
        stop.requested = True

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


class _Stop(Exception):
    """Internal: leave the step loop to checkpoint and stop."""


class _Run:
    """Set-up and restore, the step loop, and checkpoints of one process's share of a run."""

    def __init__(self, plan: Plan, callbacks: list[Callback], dist: Distributed | None):
        self.plan, self.config, self.device = plan, plan.config, plan.device
        self.callbacks = callbacks
        self.dist = dist
        self.rank, self.world = (dist.rank, dist.world) if dist else (0, 1)
        self.main = self.rank == 0
        self.signalled = StopRequest()
        # under DDP a signal counts only once all ranks agree on it (agree_on_stop); alone, at once
        self.stop = StopRequest() if dist else self.signalled
        self.checkpoint_path: str | None = None
        self.saved_at = -math.inf  # perf_counter() of the last checkpoint written
        self.writer = CheckpointWriter(plan.folders.checkpoint_dir, plan.config.keep_checkpoints)

    # --- set-up -------------------------------------------------------------------------------
    def prepare(self) -> None:
        cfg, device, plan = self.config, self.device, self.plan
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
            reset_peak_memory(device)
        reset_peak_rss()
        self.data = DeviceData(plan.dataset, device, channels_last=plan.convolutional)
        self.model = plan.model.to(device)
        if plan.convolutional:
            self.model = self.model.to(memory_format=torch.channels_last)
        net: nn.Module = self.model
        if self.dist:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile:
            net = torch.compile(net)
        self.net = net
        # evaluation runs the plain model: under DDP ranks evaluate different amounts and must not meet in
        # forward(), and compiled, its last, smaller chunk would compile a second graph for one call
        self.eval_net = self.model

        n = len(self.data.y_train)
        self.shard = n // self.world                              # equal shards: all ranks take as many steps
        if self.shard == 0:
            raise DataError(f"{plan.dataset.name} has {n} training examples: too few for {self.world} processes")
        self.batch = math.ceil(cfg.batch_size / self.world)      # per process; batch_size counts all of them
        self.steps = steps_per_epoch(self.shard, self.batch, compiled=cfg.compile)
        self.optimizer = make_optimizer(self.model, cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg, plan.phase["epochs"] * self.steps)
        self.scaler = torch.amp.GradScaler(device.type) if plan.autocast is torch.float16 else None
        self.augment = None
        if cfg.augment and plan.dataset.kind == "image":
            self.augment = Augmentation(cfg.augment, plan.dataset.input_shape, device)
            self.augment_generator = torch.Generator(device=device)
        self.sum_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.position = Position.start(device, self.sum_dtype)
        if plan.resume_state is not None:
            self.restore(plan.resume_state)

    def restore(self, state: dict[str, Any]) -> None:
        path = self.plan.folders.resume_from
        if state.get("steps_per_epoch") != self.steps:
            raise CheckpointError(f"{path} was written with {state.get('steps_per_epoch')} steps per epoch; this run "
                                  f"has {self.steps}: {self.step_mismatch(state)}")
        new_phase = len(state.get("phases") or [{}]) < len(self.plan.phases)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and new_phase:
                # more epochs for a finished run: a fresh schedule over them, from the restored optimizer
                self.scheduler = make_scheduler(self.optimizer, self.config, self.plan.phase["epochs"] * self.steps)
            elif self.scheduler is not None and state.get("scheduler") is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            if self.scaler is not None and state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
        except (ValueError, KeyError, RuntimeError, TypeError) as err:
            raise CheckpointError(f"{path}: its optimizer state does not fit this model ({err}): "
                                  "start a fresh run") from None
        self.position = Position.from_checkpoint(state, self.device, self.sum_dtype, world=self.world, main=self.main)

    def step_mismatch(self, state: dict[str, Any]) -> str:
        """The real cause of a steps-per-epoch mismatch, in words."""
        saved = state.get("config", {})
        size = (state.get("dataset") or {}).get("train_size")
        if size is not None and size != len(self.data.y_train):
            return (f"the training split had {size} examples then and has {len(self.data.y_train)} now (other data "
                    "or another val_split): resume with the same data, or start a fresh run")
        if saved.get("devices") not in (None, self.config.devices):
            return (f"it was trained with devices={saved.get('devices')}: resume with devices={saved.get('devices')}")
        return "another batch size or process count: start a fresh run"

    # --- the run ------------------------------------------------------------------------------
    def train(self, threads: Choice) -> TrainResult:
        self.prepare()
        cfg, plan, position = self.config, self.plan, self.position
        if self.main:
            plan.folders.create()
        self.start_epoch, self.start_step = position.epoch, position.step
        info = RunInfo(name=plan.folders.name, model=plan.template, dataset=plan.dataset.name,
                       device=device_name(self.device), epochs=cfg.epochs, steps_per_epoch=self.steps,
                       start_epoch=position.epoch, start_step=position.epoch * self.steps + position.step,
                       num_params=sum(p.numel() for p in self.model.parameters()),
                       train_size=len(self.data.y_train), logdir=str(plan.folders.logdir),
                       checkpoint_dir=str(plan.folders.checkpoint_dir), config=cfg.to_dict(),
                       history=[dict(row) for row in position.history], notes=list(plan.notes))
        self.emit("on_train_begin", info)
        synchronize(self.device)
        self.started = time.perf_counter()
        try:
            self.epochs(threads)
            self.announce(self.writer.wait())
        except _Stop:  # under DDP every rank is here, at the same step
            if self.dist:
                own = self.signalled.reason if self.signalled.requested else None
                self.signalled.reason = self.dist.first_reason(own) or self.signalled.reason
            self.interrupted()
        except KeyboardInterrupt:  # a second signal: at once, wherever this rank was
            self.interrupted()
        finally:
            self.writer.close()
        synchronize(self.device)
        result = self.result(interrupted=False)
        self.emit("on_train_end", result)
        return result

    def epochs(self, threads: Choice) -> None:
        cfg, data, position = self.config, self.data, self.position
        x, y = data.x_train, data.y_train
        normalise, augment = data.normalise, self.augment
        net, optimizer, scheduler, scaler = self.net, self.optimizer, self.scheduler, self.scaler
        smoothing = cfg.label_smoothing
        autocast = self.autocast()
        loss_sum, correct, stop = position.loss_sum, position.correct, self.stop
        batch, steps, shard = self.batch, self.steps, self.shard
        refresh_every = 1.0 / cfg.refresh_per_second
        checkpoint_every = cfg.checkpoint_every * 60.0  # minutes -> seconds
        sync_every = self.dist.sync_every if self.dist else 0

        now = time.perf_counter()
        next_refresh = now + refresh_every
        next_checkpoint = now + checkpoint_every if checkpoint_every else math.inf
        next_threads = threads.ready_at
        if now >= next_threads:  # the set-up took the whole sample: decide before the first step
            torch.set_num_threads(threads.settle())
            next_threads = math.inf
        while position.epoch < cfg.epochs:
            epoch = position.epoch
            self.epoch_started = time.perf_counter()
            order = self.order(epoch).to(self.device)
            augment_seed = derive_seed("augment", cfg.seed, epoch, self.rank) if augment is not None else 0
            net.train()
            next_event = min(next_refresh, next_checkpoint, next_threads)
            for step in range(position.step, steps):
                start = step * batch
                index = order[start:start + batch]
                xb, yb = x[index], y[index]
                if augment is not None:
                    self.augment_generator.manual_seed(augment_seed + step)
                    xb = augment(xb, self.augment_generator)
                if normalise is not None:
                    xb = normalise(xb)
                with autocast:
                    out = net(xb)
                    loss = F.cross_entropy(out, yb, label_smoothing=smoothing)
                optimizer.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    optimizer.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                if scheduler is not None:
                    scheduler.step()
                n = min(batch, shard - start)
                loss_sum.add_(loss.detach(), alpha=n)
                correct.add_((out.argmax(1) == yb).sum())
                position.seen += n
                position.step = step + 1
                now = time.perf_counter()  # the only clock read per step
                # counted in global steps: an epoch may be shorter than sync_every
                agree = sync_every and (epoch * steps + step + 1) % sync_every == 0
                if now >= next_event or stop.requested or agree:
                    if agree:
                        self.agree_on_stop()
                    if stop.requested:
                        raise _Stop
                    if now >= next_refresh:
                        self.report(now)
                        self.announce(self.writer.finished())
                        next_refresh = time.perf_counter() + refresh_every
                    if now >= next_checkpoint:
                        if step + 1 < steps and self.main:  # the epoch end checkpoints anyway
                            self.save()
                        next_checkpoint = time.perf_counter() + checkpoint_every
                    if now >= next_threads:
                        torch.set_num_threads(threads.settle())
                        next_threads = math.inf
                    next_event = min(next_refresh, next_checkpoint, next_threads)
            self.end_epoch(epoch)
            if checkpoint_every:  # the epoch-end checkpoint restarts the mid-epoch clock
                next_checkpoint = time.perf_counter() + checkpoint_every
            if self.dist:
                self.agree_on_stop()  # every epoch end too: a signal never waits long for the next sync
            if stop.requested and position.epoch < cfg.epochs:  # after the last epoch: return the finished run
                raise _Stop

    def autocast(self):
        if self.plan.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.plan.autocast)

    def order(self, epoch: int) -> torch.Tensor:
        """This rank's batch order for `epoch`: a permutation fixed by (seed, epoch), strided across ranks."""
        generator = torch.Generator().manual_seed(derive_seed("order", self.config.seed, epoch))
        order = torch.randperm(len(self.data.y_train), generator=generator)
        if self.world > 1:  # rank r takes every world-th sample, so step i of all ranks = global batch i
            order = order[self.rank:self.shard * self.world:self.world]
        return order

    def agree_on_stop(self) -> None:
        """DDP: every rank learns, at the same step, whether any rank was signalled and whether any
        rank's loss stopped being finite. A rank must never stop alone: the others would wait for it
        in their next all-reduce."""
        nonfinite = (~torch.isfinite(self.position.loss_sum)).to(torch.float32).reshape(1)
        flags = torch.cat([torch.tensor([1.0 if self.signalled.requested else 0.0], device=self.device), nonfinite])
        self.dist.all_reduce(flags)
        requested, diverged = flags.tolist()  # the sync point of the agreement
        if diverged:
            self.check_finite(math.nan)  # on every rank at once, with the same message
        self.stop.requested = bool(requested)

    def report(self, now: float) -> None:
        position = self.position
        loss = position.loss_sum.item()  # CPU-GPU sync point: ~refresh_per_second/s
        if not math.isfinite(loss) and self.dist:
            return  # the ranks' next agreement ends the run on all of them together
        self.check_finite(loss)
        if not self.main or not self.callbacks:
            return
        self.emit_progress(now, position.epoch, position.step, loss, position.correct.item(), position.seen)

    def check_finite(self, loss_sum: float) -> None:
        """A NaN or infinite loss ends the run at once, before a checkpoint can save broken weights."""
        if math.isfinite(loss_sum):
            return
        self.writer.close()  # a checkpoint in flight holds finite weights: let it land
        what = "nan" if math.isnan(loss_sum) else "infinite"
        raise TrainingDiverged(f"The loss became {what} by epoch {self.position.epoch + 1}, step {self.position.step} "
                               f"(lr={self.config.lr:g}): lower lr= and train again")

    def emit_progress(self, now: float, epoch: int, step: int, loss: float, correct: float, seen: int) -> None:
        elapsed = now - self.started
        trained = self.position.trained * self.world
        self.emit("on_progress", Progress(
            epoch=epoch, step=step, steps_per_epoch=self.steps, global_step=epoch * self.steps + step,
            metrics={"loss": loss / max(seen, 1), "accuracy": correct / max(seen, 1)},
            samples_per_second=trained / elapsed if elapsed > 0 else 0.0, elapsed_seconds=elapsed))

    def end_epoch(self, epoch: int) -> None:
        position = self.position
        sums = torch.stack([position.loss_sum, position.correct.to(self.sum_dtype),
                            torch.tensor(float(position.seen), dtype=self.sum_dtype, device=self.device)])
        if self.dist:
            self.dist.all_reduce(sums)
        loss_sum, correct, seen = sums.tolist()  # sync point, once per epoch
        self.check_finite(loss_sum)
        metrics = {"train_loss": loss_sum / max(seen, 1), "train_accuracy": correct / max(seen, 1)}
        for split in ("val", "test"):
            if getattr(self.data, f"x_{split}") is not None:
                metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = self.evaluate(split)
        metrics["lr"] = float(self.optimizer.param_groups[0]["lr"])
        metrics["epoch_seconds"] = time.perf_counter() - self.epoch_started
        position.finish_epoch({"epoch": epoch + 1, **metrics})
        last = position.epoch == self.config.epochs
        if self.main and (last or time.perf_counter() - self.saved_at >= EPOCH_CHECKPOINT_GAP):
            self.save()
        self.emit_progress(time.perf_counter(), epoch, self.steps, loss_sum, correct, int(seen))
        self.emit("on_epoch_end", epoch, dict(metrics))

    @torch.no_grad()
    def evaluate(self, split: str) -> tuple[float, float]:
        """(mean loss, accuracy) on a split; loss without label smoothing. Ranks split the work."""
        x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
        n = len(y)
        chunk = math.ceil(n / self.world)
        lo, hi = min(self.rank * chunk, n), min((self.rank + 1) * chunk, n)
        size = max(2 * self.batch, 512)  # no activations kept for backward: larger batches fit
        sums = torch.zeros(2, dtype=self.sum_dtype, device=self.device)
        net = self.eval_net
        net.eval()
        with self.autocast():
            for start in range(lo, hi, size):
                xb, yb = x[start:min(start + size, hi)], y[start:min(start + size, hi)]
                if self.data.normalise is not None:
                    xb = self.data.normalise(xb)
                out = net(xb)
                sums[0] += F.cross_entropy(out.float(), yb, reduction="sum")
                sums[1] += (out.argmax(1) == yb).sum()
        net.train()
        if self.dist:
            self.dist.all_reduce(sums)
        loss, right = sums.tolist()  # sync point
        return loss / n, right / n

    # --- checkpoints and the end --------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything a resume needs, at the current position."""
        plan = self.plan
        return {
            "template": plan.template, "dataset": plan.dataset_info, "config": self.config.to_dict(),
            "fingerprint": plan.fingerprint, "phases": [dict(p) for p in plan.phases],
            **checkpoint_fields(plan.dataset),  # classes, preprocessing: load() predicts from any checkpoint
            "threads": torch.get_num_threads(),  # the intra-op count this run trains with (see fit)
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            **self.position.to_checkpoint(world=self.world, steps_per_epoch=self.steps,
                                          train_seconds=self.position.prior_seconds + time.perf_counter() - self.started),
        }

    def save(self, *, wait: bool = False) -> str:
        """Checkpoint the current position, on the writer thread unless `wait`."""
        if self.position.step:  # mid-epoch: never save weights that a NaN loss has broken
            self.check_finite(float(self.position.loss_sum.item()))
        self.announce(self.writer.wait())
        path = str(self.writer.save(self.state(), wait=wait))
        self.checkpoint_path = path
        self.saved_at = time.perf_counter()
        if wait:
            self.announce(path)
        return path

    def announce(self, path) -> None:
        """on_checkpoint fires once a checkpoint is on disk, not when its write starts."""
        if path is not None:
            self.emit("on_checkpoint", str(path))

    def interrupted(self) -> None:
        """Checkpoint the last finished step, tell the callbacks, raise TrainingInterrupted."""
        if self.main:
            self.save(wait=True)
        result = self.result(interrupted=True)
        self.emit("on_train_end", result)
        position, plan = self.position, self.plan
        options = resume_options(plan)
        if self.config.devices > 1:  # the same process count: it fixes the steps per epoch of the checkpoint
            options["devices"] = self.config.devices
        where = (f"Training {self.signalled.reason} at epoch {position.epoch + 1}/{self.config.epochs}, step "
                 f"{position.step}/{self.steps}; checkpoint saved to {self.checkpoint_path}.")
        raise TrainingInterrupted(f"{where} Resume with `{python_call(plan, options)}`.", result,
                                  where=where, resume=options) from None

    def result(self, *, interrupted: bool) -> TrainResult:
        train_seconds = time.perf_counter() - self.started
        return build_result(self.plan, self.model, self.position.history, train_seconds=train_seconds,
                            samples=self.position.trained * self.world, interrupted=interrupted,
                            checkpoint_path=self.checkpoint_path, extra={"rank_samples": self.position.trained})

    def emit(self, hook: str, *args) -> None:
        if self.main:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)


class DeviceData:
    """The dataset's splits moved to the device once, images normalised with the training mean/std.

    Images become normalised float32 on the device up front when that copy fits comfortably (the
    common case: it costs nothing per step); otherwise they stay uint8 there and each batch is
    normalised as it is taken (`normalise`), at 1/4 of the memory.
    """

    def __init__(self, data: Dataset, device: torch.device, *, channels_last: bool):
        self.normalise = None
        image = data.kind == "image"
        fmt = torch.channels_last if image and channels_last else torch.contiguous_format
        splits = [(s, getattr(data, f"x_{s}"), getattr(data, f"y_{s}")) for s in ("train", "val", "test")]
        if image:
            mean, std = data.mean, data.std
            if mean is None or std is None:
                mean, std = image_stats(data.x_train.cpu().numpy())
            shape = (1, len(mean), 1, 1)
            mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(shape)
            std_t = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
            raw = data.x_train.dtype == torch.uint8
            if raw:  # pixels in 0..255: fold the /255 into the statistics
                mean_t, std_t = mean_t * 255, std_t * 255
            upfront = not images_stay_raw(data, device)
            if not upfront:
                self.normalise = lambda xb: xb.float().sub_(mean_t).div_(std_t)
        for split, x, y in splits:
            if x is None:
                setattr(self, f"x_{split}", None)
                setattr(self, f"y_{split}", None)
                continue
            if image and upfront:
                # The raw dtype crosses to the device and is converted there: uint8 is a quarter of
                # float32's bytes over PCIe and in host memory. A new tensor either way: the caller's
                # is never modified in place, even on the CPU.
                moved = x if x.device == device else x.to(device)
                x = moved.to(dtype=torch.float32, memory_format=fmt, copy=moved is x).sub_(mean_t).div_(std_t)
            elif image:
                x = x.to(device=device, memory_format=fmt)
            else:
                x = x.to(device)
            setattr(self, f"x_{split}", x)
            setattr(self, f"y_{split}", y.to(device=device, dtype=torch.int64))


def steps_per_epoch(examples: int, batch: int, *, compiled: bool) -> int:
    """Every example once, the last batch smaller; compiled, whole batches only (as airbench does):
    a compiled graph is specialised to its batch shape, and a smaller last batch would compile a
    second one every run. Each epoch draws its own order, so no example is always the one left out."""
    if compiled and examples >= batch:
        return examples // batch
    return math.ceil(examples / batch)


def make_optimizer(model: nn.Module, cfg) -> torch.optim.Optimizer:
    """Weight decay on weight matrices and kernels only: decaying biases and norm scales only hurts."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": params}]
    if cfg.weight_decay:
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    # fused: one kernel per parameter group instead of a Python loop over tensors (~0.1 ms/step on a CPU)
    devices = {p.device.type for p in params}
    fused = {"fused": True} if devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params) else {}
    # eager: the same classes minus the 1-2 s `import torch._dynamo` of their first call (optimizers.py);
    # a compiled model keeps torch's own, so that dynamo never traces into the optimizer
    from .optimizers import EagerAdamW, EagerSGD
    adamw, sgd = (torch.optim.AdamW, torch.optim.SGD) if cfg.compile else (EagerAdamW, EagerSGD)
    if cfg.optimizer == "adamw":
        return adamw(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=0.0, **fused)
    return sgd(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0, weight_decay=0.0, **fused)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg, total_steps: int):
    """Stepped once per batch; None for a constant learning rate."""
    if cfg.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(total_steps, 1),
                                                   cycle_momentum=False)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None


def derive_seed(purpose: str, *numbers: int) -> int:
    """A 62-bit seed from a purpose and numbers: streams for different epochs/ranks never overlap."""
    digest = hashlib.blake2b(":".join([purpose, *map(str, numbers)]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 2
