"""What a run gives back: the TrainResult of a run that trained, was interrupted, or had finished before.

The loop (one process) and the DDP launcher both end here, so a result looks the same however it
was trained. The resume options (`resume_options`) are the caller's own options: a magic or a
script words its own resume line from them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from torch import nn

from ..errors import Message, Option, TrainingInterrupted
from ..locale import tr
from .checkpoint import RESUMING
from .device import device_name, peak_device_memory, precision_name
from .memory import run_peak_rss
from .plan import Plan
from .result import TrainResult

NOT_METRICS = ("epoch", "lr", "epoch_seconds")


def build_result(plan: Plan, model: nn.Module, history: list[dict[str, float]], *, train_seconds: float,
                 samples: int, interrupted: bool, checkpoint_path: str | None,
                 extra: dict[str, Any] | None = None) -> TrainResult:
    """`samples`: training samples processed in this session by all processes together."""
    model.eval()
    final = history[-1] if history else {}
    device_peak = peak_device_memory(plan.device)
    rss = run_peak_rss()
    resumed = len(plan.resume_state.get("history", [])) if plan.resume_state else 0
    resume_from = plan.folders.resume_from
    return TrainResult(
        model=model, history=[dict(h) for h in history],
        metrics={k: v for k, v in final.items() if k not in NOT_METRICS},
        train_seconds=train_seconds, wall_seconds=time.perf_counter() - plan.wall_start,
        samples_per_second=samples / train_seconds if train_seconds > 0 else 0.0,
        peak_memory_bytes=device_peak if device_peak is not None else rss, peak_rss_bytes=rss,
        checkpoint_path=checkpoint_path or (str(resume_from) if resume_from else None),
        logdir=str(plan.folders.logdir), config=plan.config.to_dict(), device=device_name(plan.device),
        epochs_run=len(history) - resumed, precision=precision_name(plan.autocast),
        interrupted=interrupted, name=plan.folders.name,
        extra={"notes": list(plan.notes), "phases": [dict(p) for p in plan.phases], **(extra or {})},
        **data_fields(plan))


def data_fields(plan: Plan) -> dict[str, Any]:
    """What predict() and save() need to know about the data the model was trained on."""
    data = plan.dataset
    return {"classes": list(data.classes), "preprocessing": getattr(data, "preprocessing", None),
            "spec": data.spec, "template": plan.template}


def finished_result(plan: Plan, model: nn.Module) -> TrainResult:
    """A resume of a run that had done all its epochs: its saved weights and history, nothing trained."""
    state = plan.resume_state
    plan.notes.append(Message.of(tr("{name} had finished all {epochs} epochs: this is its saved result ({resume} with "
                                    "a larger {more}, over {epochs}, trains it on)"),
                                 name=plan.folders.name, epochs=plan.config.epochs, resume=RESUMING,
                                 more=Option("epochs", "N", literal=True)))
    return build_result(plan, model, state.get("history", []), train_seconds=0.0, samples=0,
                        interrupted=False, checkpoint_path=str(plan.folders.resume_from),
                        extra={"finished_before": True, "rank_samples": 0, "saved_train_seconds": float(state.get("train_seconds", 0.0))})


def interruption(plan: Plan, result: TrainResult, *, reason: str, position, steps: int,
                 checkpoint_path: str | None) -> TrainingInterrupted:
    """The error a stopped run raises: where it stopped, and the options that resume it."""
    options = resume_options(plan)
    if plan.config.devices > 1:  # the same process count: it fixes the steps per epoch of the checkpoint
        options["devices"] = plan.config.devices
    # reason: a marked phrase (stopping.py, background/run.py), translated here where it is shown
    where = tr("Training {reason} at epoch {epoch}/{epochs}, step {step}/{steps}; checkpoint saved to {path}.").format(
        reason=tr(reason), epoch=position.epoch + 1, epochs=plan.config.epochs, step=position.step, steps=steps,
        path=checkpoint_path)
    return TrainingInterrupted(tr("{where} Resume with `{call}`.").format(where=where, call=python_call(plan, options)),
                               result, where=where, resume=options)


def resume_options(plan: Plan) -> dict[str, Any]:
    """The options a resume call repeats: the caller's own, the run's actual name, resume=True."""
    options = {k: v for k, v in plan.explicit.items() if k not in ("model", "resume")}
    options["resume"] = True
    if plan.folders.name != plan.asked_name:  # a clash made it NAME-2: resume exactly that run
        options["name"] = plan.folders.name
    return options


def python_call(plan: Plan, options: dict[str, Any]) -> str:
    """`train("mlp", "data/train.csv", target="label", resume=True)` for the resume message."""
    options = dict(options)
    dataset = options.pop("dataset", None)
    resume = options.pop("resume", None)
    args = [_literal(plan.template)]
    if dataset == "arrays":
        args.append("data=(X, y)")
    elif dataset is not None:
        args.append(_literal(dataset))
    args += [f"{k}={_literal(v)}" for k, v in options.items()]
    if resume:
        args.append("resume=True")
    return f"train({', '.join(args)})"


def _literal(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)
