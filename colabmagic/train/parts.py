"""What one process trains with, assembled once: the data on the device, the model, its optimizer and
schedule, the shape of an epoch, and the position a checkpoint restores."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, DataError, Message, Option
from ..locale import tr
from .augment import Augmentation
from .callbacks import RunInfo
from .device import device_name, reset_peak_memory
from .device_data import DeviceData
from .memory import reset_peak_rss
from .optimizers import make_optimizer, make_scheduler
from .plan import Plan
from .position import Position


@dataclass
class Parts:
    data: DeviceData
    model: nn.Module              # the plain model: weights, checkpoints, evaluation
    net: nn.Module                # what the step calls: the model, under DDP and/or torch.compile
    optimizer: torch.optim.Optimizer
    scheduler: Any                # an LR scheduler stepped once per batch, or None
    scaler: Any                   # a GradScaler for fp16, or None
    augment: Augmentation | None
    augment_generator: torch.Generator | None
    shard: int                    # training examples per process (equal shards: all ranks take as many steps)
    batch: int                    # examples per step and process
    steps: int                    # steps per epoch
    sum_dtype: torch.dtype        # of the metric sums kept on the device
    position: Position

    def update(self, loss: torch.Tensor) -> None:
        """One optimisation step from a batch's loss (scaled under fp16), and the schedule's step."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()


def assemble(plan: Plan, *, rank: int, world: int) -> Parts:
    """Move the data and model to the device and build the optimizer; restore a resume's state."""
    cfg, device = plan.config, plan.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        reset_peak_memory(device)
    reset_peak_rss()
    data = DeviceData(plan.dataset, device, channels_last=plan.convolutional)
    model = plan.model.to(device)
    if plan.convolutional:
        model = model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)

    n = len(data.y_train)
    shard = n // world
    if shard == 0:
        raise DataError(tr("{dataset} has {n} training examples: too few for {world} processes").format(
            dataset=plan.dataset.name, n=n, world=world))
    batch = math.ceil(cfg.batch_size / world)  # batch_size counts all processes
    steps = steps_per_epoch(shard, batch, compiled=cfg.compile)
    optimizer = make_optimizer(model, cfg)
    augment = generator = None
    if cfg.augment and plan.dataset.kind == "image":
        augment = Augmentation(cfg.augment, plan.dataset.input_shape, device)
        generator = torch.Generator(device=device)
    sum_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    parts = Parts(data=data, model=model, net=net, optimizer=optimizer,
                  scheduler=make_scheduler(optimizer, cfg, plan.phase["epochs"] * steps),
                  scaler=torch.amp.GradScaler(device.type) if plan.autocast is torch.float16 else None,
                  augment=augment, augment_generator=generator, shard=shard, batch=batch, steps=steps,
                  sum_dtype=sum_dtype, position=Position.start(device, sum_dtype))
    if plan.resume_state is not None:
        restore(parts, plan, plan.resume_state, world=world, main=rank == 0)
    return parts


def run_info(plan: Plan, parts: Parts) -> RunInfo:
    """What the callbacks are told as the run begins."""
    cfg, position = plan.config, parts.position
    return RunInfo(
        name=plan.folders.name, model=plan.template, dataset=plan.dataset.name, device=device_name(plan.device),
        epochs=cfg.epochs, steps_per_epoch=parts.steps, start_epoch=position.epoch,
        start_step=position.epoch * parts.steps + position.step,
        num_params=sum(p.numel() for p in parts.model.parameters()), train_size=len(parts.data.y_train),
        logdir=str(plan.folders.logdir), checkpoint_dir=str(plan.folders.checkpoint_dir), config=cfg.to_dict(),
        history=[dict(row) for row in position.history], notes=list(plan.notes))


def restore(parts: Parts, plan: Plan, state: dict[str, Any], *, world: int, main: bool) -> None:
    path = plan.folders.resume_from
    if state.get("steps_per_epoch") != parts.steps:
        raise CheckpointError(Message.of(tr("{path} was written with {saved} steps per epoch; this run has {steps}: {cause}"),
                                      path=path, saved=state.get("steps_per_epoch"), steps=parts.steps,
                                      cause=_step_mismatch(parts, plan, state)))
    new_phase = len(state.get("phases") or [{}]) < len(plan.phases)
    try:
        parts.optimizer.load_state_dict(state["optimizer"])
        if parts.scheduler is not None and new_phase:
            # more epochs for a finished run: a fresh schedule over them, from the restored optimizer
            parts.scheduler = make_scheduler(parts.optimizer, plan.config, plan.phase["epochs"] * parts.steps)
        elif parts.scheduler is not None and state.get("scheduler") is not None:
            parts.scheduler.load_state_dict(state["scheduler"])
        if parts.scaler is not None and state.get("scaler"):
            parts.scaler.load_state_dict(state["scaler"])
    except (ValueError, KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(tr("{path}: its optimizer state does not fit this model ({reason}): start a fresh run").format(
            path=path, reason=err)) from None
    parts.position = Position.from_checkpoint(state, plan.device, parts.sum_dtype, world=world, main=main)


def _step_mismatch(parts: Parts, plan: Plan, state: dict[str, Any]) -> Message:
    """The real cause of a steps-per-epoch mismatch, in words."""
    saved = state.get("config", {})
    size = (state.get("dataset") or {}).get("train_size")
    if size is not None and size != len(parts.data.y_train):
        return Message(tr("the training split had {then} examples then and has {now} now (other data or another "
                          "val_split): resume with the same data, or start a fresh run").format(
            then=size, now=len(parts.data.y_train)))
    if saved.get("devices") not in (None, plan.config.devices):
        return Message.of(tr("it was trained with {devices}: resume with {devices}"),
                          devices=Option("devices", saved.get("devices")))
    return Message(tr("another batch size or process count: start a fresh run"))


def steps_per_epoch(examples: int, batch: int, *, compiled: bool) -> int:
    """Every example once, the last batch smaller; compiled, whole batches only (as airbench does):
    a compiled graph is specialised to its batch shape, and a smaller last batch would compile a
    second one every run. Each epoch draws its own order, so no example is always the one left out."""
    if compiled and examples >= batch:
        return examples // batch
    return math.ceil(examples / batch)
