"""The job folder of a `--devices N` run (see the package docstring) and its job file, both sides:
the notebook writes the job, each worker reads it back as a plan's parts."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from ...files import FORMAT, VERSION, NewerRecord, write_atomically
from ...locale import tr
from ..data.dataset import Dataset
from .owner import current_owner, owner_from, read_owner, write_owner

PREFIX = "colabmagic-ddp-"
JOB_RECORD = "colabmagic-ddp-job"
JOB_VERSION = 1
# the launcher keeps these itself (the data's classes and preprocessing are for predict() here, and
# may hold values a weights-only load refuses); the workers never need them
LAUNCHER_ONLY_DATASET = ("classes", "preprocessing")
# Plan fields sent as objects of their own; every other Plan field is plain data and travels as is
PLAN_OBJECTS = ("config", "template", "convolutional", "dataset", "model", "device", "autocast", "folders",
                "resume_state", "wall_start", "memory")
UNOWNED_GRACE = 60.0  # seconds: a folder with no owner.json this old is a leftover, not one being made


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
        write_owner(folder.path, current_owner())
        return folder

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write_job(self, plan) -> Path:
        """Everything a worker needs to rebuild `plan`, as one file (see read_job)."""
        data = plan.dataset
        job = {
            FORMAT: JOB_RECORD, VERSION: JOB_VERSION,
            "config": plan.config.to_dict(), "template": plan.template, "convolutional": plan.convolutional,
            "device": plan.device.type,
            "dataset": {f.name: getattr(data, f.name) for f in fields(data) if f.name not in LAUNCHER_ONLY_DATASET},
            "model": plan.model.state_dict(),
            "folders": {"name": plan.folders.name, "logdir": str(plan.folders.logdir),
                        "checkpoint_dir": str(plan.folders.checkpoint_dir),
                        "resume_from": str(plan.folders.resume_from) if plan.folders.resume_from else None},
            "plan": {f.name: getattr(plan, f.name) for f in fields(plan) if f.name not in PLAN_OBJECTS},
            "owner": dataclasses.asdict(read_owner(self.path)),
            "events": str(self.events), "result": str(self.result), "weights": str(self.weights),
            "stop": str(self.stop),
        }
        write_atomically(self.job, lambda file: torch.save(job, file))
        return self.job

    def read_weights(self) -> dict[str, torch.Tensor] | None:
        if not self.weights.exists():
            return None
        return torch.load(self.weights, map_location="cpu", weights_only=True)

    def output_tail(self, lines: int) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def read_job(path: str | Path) -> dict[str, Any]:
    """The worker's side of write_job; `dataset` comes back as a Dataset, `owner` as a
    ProcessIdentity. NewerRecord when a newer colabmagic wrote it (a job without the record keys
    is version 1's)."""
    job = torch.load(path, map_location="cpu", weights_only=True)
    written = job.pop(VERSION, 1)
    if job.pop(FORMAT, JOB_RECORD) != JOB_RECORD:
        raise ValueError(f"{path} is not a colabmagic DDP job")
    if written > JOB_VERSION:
        raise NewerRecord(tr("a DDP job of version {version}, written by a newer colabmagic (this one reads version "
                             "{supported} and older): use one colabmagic for the kernel and the workers").format(
            version=written, supported=JOB_VERSION))
    known = {f.name for f in fields(Dataset)}
    job["dataset"] = Dataset(**{k: v for k, v in job["dataset"].items() if k in known})
    job["owner"] = owner_from(job["owner"])
    return job


def remove_stale(temp_dir: str | Path | None = None) -> list[Path]:
    """Delete this user's job folders whose owner is dead (or that never got one); return them.
    A folder a newer colabmagic owns is left alone: its own kernel cleans it up."""
    removed = []
    root = Path(temp_dir or tempfile.gettempdir())
    for folder in root.glob(PREFIX + "*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not folder.is_dir() or folder.is_symlink() or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            continue
        try:
            owner = read_owner(folder)
        except NewerRecord:
            continue
        if owner is None:
            stale = time.time() - info.st_mtime > UNOWNED_GRACE
        else:
            stale = not owner.alive()
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
