"""The files of a `--devices N` run, both sides: the notebook process writes the job and reads the
events and the outcome; the torchrun workers read the job and write the events and the outcome.

One private folder per run, `<temp>/colabmagic-ddp-XXXXXXXX/` (mode 0700: it holds the dataset):

    owner.json    the process that started the run: pid and start time (so a reused pid is no owner)
    job.pt        the plan: config, dataset tensors, initial weights, run folders, the plan's plain
                  fields (schedule phases, data fingerprint, ...) and the owner; torch.load reads it
                  with weights_only=True, so it holds tensors, numbers, strings, lists, dicts, tuples
    events.jsonl  rank 0's callback events, one `{"hook": ..., "payload": ...}` line each, appended
                  and flushed as they happen; the reader keeps a half-written last line for later
    result.json   rank 0's outcome: interrupted or not, the interrupt's message, where it stopped and
                  the resume options, and every TrainResult field that is plain data; or, when the
                  loss stopped being finite, only {"diverged": message}
    model.pt      rank 0's final weights (a state_dict), written before result.json
    stop.json     written by the launcher when request_stop() reaches it (a session expiring): the
                  reason; each worker's watcher passes it on to its own fit() (worker.Lifeline)
    output.log    torchrun's stdout and stderr, for the error message when a run fails

Files the launcher reads appear whole (write_atomically). A folder whose owner has died (its
kernel was killed) is stale: `create` removes every stale folder of this user before making a new
one; the workers watch the owner too (worker.py) and leave when it dies.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from ..files import write_atomically
from .callbacks import Callback, Progress, RunInfo
from .data.dataset import Dataset

PREFIX = "colabmagic-ddp-"
# the launcher keeps these itself (the data's classes and preprocessing are for predict() here, and
# may hold values a weights-only load refuses); the workers never need them
LAUNCHER_ONLY_DATASET = ("classes", "preprocessing")
# TrainResult fields the launcher fills from its own plan rather than from the worker's JSON
LAUNCHER_ONLY_RESULT = ("model", "classes", "preprocessing", "spec", "template")
# Plan fields sent as objects of their own; every other Plan field is plain data and travels as is
PLAN_OBJECTS = ("config", "template", "convolutional", "dataset", "model", "device", "autocast", "folders",
                "resume_state", "wall_start", "memory")
UNOWNED_GRACE = 60.0  # seconds: a folder with no owner.json this old is a leftover, not one being made


# --- who owns a job folder ------------------------------------------------------------------------

@dataclass(frozen=True)
class Owner:
    pid: int
    started: float  # the process's start time (psutil.Process.create_time), unix seconds

    @classmethod
    def current(cls) -> "Owner":
        return cls.of(os.getpid())

    @classmethod
    def of(cls, pid: int) -> "Owner":
        import psutil

        return cls(pid, psutil.Process(pid).create_time())

    def alive(self) -> bool:
        """The same process still runs (not merely some process with this pid)."""
        import psutil

        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) < 1.0
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
        except psutil.AccessDenied:  # exists, another user's: it is not ours to judge
            return True

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started}


def read_owner(folder: Path) -> Owner | None:
    try:
        data = json.loads((folder / "owner.json").read_text(encoding="utf-8"))
        return Owner(int(data["pid"]), float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_stale(temp_dir: str | Path | None = None) -> list[Path]:
    """Delete this user's job folders whose owner is dead (or that never got one); return them."""
    removed = []
    root = Path(temp_dir or tempfile.gettempdir())
    for folder in root.glob(PREFIX + "*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not folder.is_dir() or folder.is_symlink() or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            continue
        owner = read_owner(folder)
        if owner is None:
            stale = time.time() - info.st_mtime > UNOWNED_GRACE
        else:
            stale = not owner.alive()
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# --- the folder and the job (notebook side writes, workers read) ---------------------------------

class JobFolder:
    """The paths of one run's files; `create` makes a fresh folder owned by this process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.job = self.path / "job.pt"
        self.events = self.path / "events.jsonl"
        self.result = self.path / "result.json"
        self.weights = self.path / "model.pt"
        self.log = self.path / "output.log"
        self.stop = self.path / "stop.json"

    @classmethod
    def create(cls, temp_dir: str | Path | None = None) -> "JobFolder":
        remove_stale(temp_dir)
        folder = cls(Path(tempfile.mkdtemp(prefix=PREFIX, dir=temp_dir)))  # mode 0700
        owner = json.dumps(Owner.current().to_dict()).encode()
        write_atomically(folder.path / "owner.json", lambda file: file.write(owner))
        return folder

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write_job(self, plan) -> Path:
        """Everything a worker needs to rebuild `plan`, as one file (see the module docstring)."""
        data = plan.dataset
        job = {
            "config": plan.config.to_dict(), "template": plan.template, "convolutional": plan.convolutional,
            "device": plan.device.type,
            "dataset": {f.name: getattr(data, f.name) for f in fields(data) if f.name not in LAUNCHER_ONLY_DATASET},
            "model": plan.model.state_dict(),
            "folders": {"name": plan.folders.name, "logdir": str(plan.folders.logdir),
                        "checkpoint_dir": str(plan.folders.checkpoint_dir),
                        "resume_from": str(plan.folders.resume_from) if plan.folders.resume_from else None},
            "plan": {f.name: getattr(plan, f.name) for f in fields(plan) if f.name not in PLAN_OBJECTS},
            "owner": read_owner(self.path).to_dict(),
            "events": str(self.events), "result": str(self.result), "weights": str(self.weights),
            "stop": str(self.stop),
        }
        write_atomically(self.job, lambda file: torch.save(job, file))
        return self.job

    def read_outcome(self) -> dict[str, Any] | None:
        """Rank 0's outcome (see write_outcome), None when it wrote none."""
        try:
            return json.loads(self.result.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def read_weights(self) -> dict[str, torch.Tensor] | None:
        if not self.weights.exists():
            return None
        return torch.load(self.weights, map_location="cpu", weights_only=True)

    def write_stop(self, reason: str) -> None:
        """Ask the workers to stop as an interrupt does, with `reason` in the message (see read_stop)."""
        text = json.dumps({"reason": reason}).encode()
        write_atomically(self.stop, lambda file: file.write(text))

    def output_tail(self, lines: int) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def read_job(path: str | Path) -> dict[str, Any]:
    """The worker's side of write_job; `dataset` comes back as a Dataset, `owner` as an Owner."""
    job = torch.load(path, map_location="cpu", weights_only=True)
    job["dataset"] = Dataset(**job["dataset"])
    job["owner"] = Owner(int(job["owner"]["pid"]), float(job["owner"]["started"]))
    return job


def read_stop(path: str | Path) -> str | None:
    """The worker's side of write_stop: the reason, or None while no stop was asked for."""
    try:
        return str(json.loads(Path(path).read_text(encoding="utf-8"))["reason"])
    except FileNotFoundError:
        return None


def write_outcome(job: dict[str, Any], result, interrupted, samples: list[int]) -> None:
    """Rank 0: weights (torch file), then the rest of the result (JSON); `interrupted` is the
    TrainingInterrupted the run ended with, or None."""
    weights = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    write_atomically(Path(job["weights"]), lambda file: torch.save(weights, file))
    values = {f.name: getattr(result, f.name) for f in fields(result) if f.name not in LAUNCHER_ONLY_RESULT}
    values["extra"] = {**values["extra"], "rank_samples": samples, "world_size": len(samples)}
    outcome = {"interrupted": interrupted is not None, "result": values,
               "message": str(interrupted) if interrupted is not None else None,
               "where": getattr(interrupted, "where", ""), "resume": getattr(interrupted, "resume", None)}
    text = json.dumps(outcome).encode()
    write_atomically(Path(job["result"]), lambda file: file.write(text))


def write_diverged(job: dict[str, Any], message: str) -> None:
    """Rank 0: the run ended because the loss stopped being finite (all ranks agreed on it)."""
    text = json.dumps({"diverged": message}).encode()
    write_atomically(Path(job["result"]), lambda file: file.write(text))


# --- the event stream (rank 0 writes, the notebook replays) ----------------------------------------

def _payload(hook: str, args: tuple) -> Any:
    if hook == "on_epoch_end":
        epoch, metrics = args
        return {"epoch": epoch, "metrics": metrics}
    (value,) = args
    return asdict(value) if hook in ("on_train_begin", "on_progress") else value


def _arguments(hook: str, payload: Any) -> tuple:
    if hook == "on_train_begin":
        return (RunInfo(**payload),)
    if hook == "on_progress":
        return (Progress(**payload),)
    if hook == "on_epoch_end":
        return (payload["epoch"], payload["metrics"])
    return (payload,)


class EventLog(Callback):
    """The worker side (rank 0): appends each hook's arguments as one JSON line, flushed at once."""

    def __init__(self, path: str | Path):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, hook: str, *args) -> None:
        self.file.write(json.dumps({"hook": hook, "payload": _payload(hook, args)}) + "\n")
        self.file.flush()

    def on_train_begin(self, run: RunInfo) -> None:
        self.write("on_train_begin", run)

    def on_progress(self, progress: Progress) -> None:
        self.write("on_progress", progress)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.write("on_epoch_end", epoch, metrics)

    def on_checkpoint(self, path: str) -> None:
        self.write("on_checkpoint", path)

    def on_train_end(self, result: Any) -> None:
        self.file.close()  # the launcher calls on_train_end itself, with the result it rebuilds


class EventReplay:
    """The notebook side: reads the event file as it grows and calls the same hooks here."""

    def __init__(self, path: Path, callbacks: list[Callback]):
        self.path, self.callbacks = path, callbacks
        self.offset = 0
        self.buffer = b""

    def read(self) -> None:
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")  # the last piece may be half written
        for line in lines:
            if line.strip():
                event = json.loads(line)
                hook = event["hook"]
                args = _arguments(hook, event["payload"])
                for callback in self.callbacks:
                    getattr(callback, hook)(*args)
