"""What a `--devices N` run's workers tell the launcher at the end (result.json, model.pt), and the
launcher's stop request to them (stop.json): records this module writes and reads, both sides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from ...files import read_record, write_atomically, write_record

OUTCOME_RECORD, OUTCOME_VERSION = "colabmagic-ddp-outcome", 1
STOP_RECORD, STOP_VERSION = "colabmagic-ddp-stop", 1
# TrainResult fields the launcher fills from its own plan rather than from the worker's JSON
LAUNCHER_ONLY_RESULT = ("model", "classes", "preprocessing", "spec", "template")


@dataclass
class Outcome:
    """Rank 0's last word: a result (interrupted or not), or only `diverged` when the loss stopped
    being finite on every rank."""

    result: dict[str, Any] | None = None  # every TrainResult field that is plain data
    interrupted: bool = False
    message: str | None = None            # the interrupt's message
    where: str = ""                       # where it stopped
    resume: dict[str, Any] | None = None  # the options that resume it
    diverged: str | None = None


@dataclass
class Stop:
    reason: str  # said in the stop message: "stopped (the session's time limit was reached)"


def write_outcome(job: dict[str, Any], result, interrupted, samples: list[int]) -> None:
    """Rank 0: weights (a torch file), then the rest of the result; INTERRUPTED is the
    TrainingInterrupted the run ended with, or None."""
    weights = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    write_atomically(Path(job["weights"]), lambda file: torch.save(weights, file))
    values = {f.name: getattr(result, f.name) for f in fields(result) if f.name not in LAUNCHER_ONLY_RESULT}
    values["extra"] = {**values["extra"], "rank_samples": samples, "world_size": len(samples)}
    outcome = Outcome(values)
    if interrupted is not None:
        outcome = dataclasses.replace(outcome, interrupted=True, message=str(interrupted),
                                      where=getattr(interrupted, "where", ""), resume=getattr(interrupted, "resume", None))
    write_record(Path(job["result"]), OUTCOME_RECORD, OUTCOME_VERSION, outcome)


def write_diverged(job: dict[str, Any], message: str) -> None:
    """Rank 0: the run ended because the loss stopped being finite (all ranks agreed on it)."""
    write_record(Path(job["result"]), OUTCOME_RECORD, OUTCOME_VERSION, Outcome(diverged=message))


def read_outcome(path: Path) -> Outcome | None:
    """Rank 0's outcome; None when it wrote none. NewerRecord when a newer colabmagic wrote it."""
    return read_record(path, OUTCOME_RECORD, OUTCOME_VERSION, Outcome)


def write_stop(path: Path, reason: str) -> None:
    """Ask the workers to stop as an interrupt does, with REASON in the message (see read_stop)."""
    write_record(path, STOP_RECORD, STOP_VERSION, Stop(reason))


def read_stop(path: str | Path) -> str | None:
    """The worker's side of write_stop: the reason, or None while no stop was asked for."""
    stop = read_record(Path(path), STOP_RECORD, STOP_VERSION, Stop)
    return None if stop is None else str(stop.reason)
