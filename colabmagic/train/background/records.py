"""The files of a background run's job folder (see the package docstring), both sides."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...files import read_record, state_dir, write_record
from ...processes import ProcessIdentity

JOBS_FOLDER = "colabmagic-jobs"
SPEC_RECORD, JOB_RECORD, OUTCOME_RECORD, STOP_RECORD = (
    "colabmagic-train-spec", "colabmagic-train-job", "colabmagic-train-outcome", "colabmagic-train-stop")
VERSION = 1
# states a job is in, as `--jobs` says them
STARTING, RUNNING, FINISHED, STOPPED, DIVERGED, FAILED, DEAD = (
    "starting", "running", "finished", "stopped", "diverged", "failed", "dead")


@dataclass
class Spec:
    """What to run (the kernel writes it before the process starts)."""

    options: dict[str, Any]   # TrainConfig fields the user gave
    cwd: str                  # the notebook's working folder: runs/ is relative to it
    line: str = ""            # the %train line, for the resume line ("" from Python)


@dataclass
class Job:
    """The process and, once planned, its run (the process alone writes it)."""

    pid: int
    start: int                      # processes.process_start: a reused pid is not this job
    started_at: float               # unix time
    name: str = ""                  # the run's name once planned (may carry a -N suffix)
    run_dir: str = ""               # runs/NAME, absolute
    device: str = ""
    epochs: int = 0
    steps_per_epoch: int = 0
    start_epoch: int = 0

    @property
    def identity(self) -> ProcessIdentity:
        return ProcessIdentity(self.pid, self.start)


@dataclass
class Outcome:
    state: str                                      # FINISHED, STOPPED, DIVERGED or FAILED
    ended_at: float
    message: str = ""                               # the error or the stop's message
    where: str = ""                                 # a stop: where it stopped
    resume: dict[str, Any] | None = None            # a stop: the options that continue it
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""                                 # FAILED by a colabmagic error: its class's name
    message_parts: list | None = None               # the message's errors.Message parts (to_json), if it has any


@dataclass
class StopAsk:
    reason: str


class JobFolder:
    """One background run's folder of records."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.spec_file, self.job_file = self.path / "spec.json", self.path / "job.json"
        self.outcome_file, self.stop_file = self.path / "outcome.json", self.path / "stop.json"
        self.log = self.path / "output.log"

    @classmethod
    def create(cls, spec: Spec) -> "JobFolder":
        root = jobs_root()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # time first: a listing sorted by name is sorted by start; the random part makes it new
        path = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
        path.mkdir(mode=0o700)
        folder = cls(path)
        write_record(folder.spec_file, SPEC_RECORD, VERSION, spec, mode=0o600)
        return folder

    def spec(self) -> Spec | None:
        return read_record(self.spec_file, SPEC_RECORD, VERSION, Spec)

    def job(self) -> Job | None:
        return read_record(self.job_file, JOB_RECORD, VERSION, Job)

    def write_job(self, job: Job) -> None:
        write_record(self.job_file, JOB_RECORD, VERSION, job)

    def outcome(self) -> Outcome | None:
        return read_record(self.outcome_file, OUTCOME_RECORD, VERSION, Outcome)

    def write_outcome(self, outcome: Outcome) -> None:
        write_record(self.outcome_file, OUTCOME_RECORD, VERSION, outcome)

    def ask_stop(self, reason: str) -> None:
        write_record(self.stop_file, STOP_RECORD, VERSION, StopAsk(reason))

    def stop_reason(self) -> str | None:
        ask = read_record(self.stop_file, STOP_RECORD, VERSION, StopAsk)
        return None if ask is None else ask.reason

    def state(self) -> str:
        """STARTING/RUNNING while its process runs, how it ended, or DEAD (killed without a word)."""
        outcome = self.outcome()
        if outcome is not None:
            return outcome.state
        job = self.job()
        if job is None:  # the process has not written its record yet, or never started
            age = time.time() - self.path.stat().st_mtime
            return STARTING if age < START_GRACE else DEAD
        if not job.identity.alive():
            # it may have written its outcome and ended between the first look and this one
            outcome = self.outcome()
            return outcome.state if outcome is not None else DEAD
        return RUNNING if job.name else STARTING

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


START_GRACE = 60.0  # seconds a job folder may wait for its process's first record


def jobs_root() -> Path:
    return state_dir() / JOBS_FOLDER


def job_folders() -> list[JobFolder]:
    """Every job folder of this user on this machine, oldest first."""
    root = jobs_root()
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.is_symlink() and (not hasattr(os, "getuid") or path.stat().st_uid == os.getuid()):
            found.append(JobFolder(path))
    return found
