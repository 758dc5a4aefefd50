"""The kernel's side of a background run: start one, find one, follow, stop or wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from ... import errors
from ...errors import ColabMagicError, ConfigError, Message, TrainingDiverged, TrainingInterrupted, shown
from ...locale import mark, tr
from ..callbacks import Callback
from ..config import TrainConfig
from .records import (DEAD, DIVERGED, FAILED, FINISHED, RUNNING, STARTING, STOPPED, Job, JobFolder, Outcome,
                      Spec, job_folders)

POLL_SECONDS = 0.1    # how often a waiting kernel looks at the job folder
FOLLOW_SECONDS = 0.25  # how often attach() reads new events: a view's refresh needs no more
STOP_REQUESTED = mark("stopped (--stop)")  # the stop's reason, translated where the message is made


class RunDied(ColabMagicError):
    """A background run's process ended without an outcome (killed, out of memory)."""


def start(config: TrainConfig, *, line: str = "") -> "BackgroundRun":
    """Start CONFIG's run in a process of its own and return once it is planned (its name is known):
    a bad option or dataset fails here in one line, as in the foreground."""
    spec = Spec(options=config.explicit(), cwd=os.getcwd(), line=line)
    folder = JobFolder.create(spec)
    with open(folder.log, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "colabmagic.train.background.process", str(folder.path)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True)  # no kernel signal reaches it
    # reap it when it ends while this kernel lives (no zombie); it is not waited for otherwise
    threading.Thread(target=process.wait, name="colabmagic-background-reaper", daemon=True).start()
    run = BackgroundRun(folder)
    run.wait_until_planned()
    return run


def refuse_objects(model: Any, dataset: Any, data: Any) -> None:
    """A background process cannot reach this kernel's objects: one line saying so."""
    if data is not None:
        raise ConfigError(tr("background=True trains a named dataset or a file: arrays (data=) live in this kernel; "
                             "save them (e.g. to .npz or .csv) and pass the path"))
    if not isinstance(model, (str, TrainConfig)) or (dataset is not None and not isinstance(dataset, (str, os.PathLike))):
        raise ConfigError(tr("background=True trains a template by name on a dataset name or path: a model or "
                             "Dataset object lives in this kernel"))


def find(name: str) -> "BackgroundRun":
    """The newest background run named NAME (one ConfigError listing the names when there is none)."""
    runs = [BackgroundRun(folder) for folder in job_folders()]
    named = [run for run in runs if run.name == name]
    if not named:
        known = sorted({run.name for run in runs if run.name})
        if known:
            raise ConfigError(tr("No background run named {name!r}; the runs are: {runs}. See %train --jobs").format(
                name=shown(name), runs=", ".join(known)))
        raise ConfigError(tr("No background run named {name!r}; the runs are (none on this machine). See %train "
                             "--jobs").format(name=shown(name)))
    return named[-1]


class BackgroundRun:
    """A handle on one background run, from any kernel on the machine."""

    def __init__(self, folder: JobFolder):
        self.folder = folder

    def __repr__(self) -> str:
        return f"<BackgroundRun {self.name or self.folder.path.name}: {self.state}>"

    @property
    def job(self) -> Job | None:
        return self.folder.job()

    @property
    def name(self) -> str:
        job = self.job
        return job.name if job else ""

    @property
    def state(self) -> str:
        return self.folder.state()

    @property
    def events_file(self) -> Path | None:
        job = self.job
        return Path(job.run_dir) / "events.jsonl" if job and job.run_dir else None

    def wait_until_planned(self) -> None:
        while True:
            state = self.state
            if state == RUNNING:
                return
            if state != STARTING:
                self._raise_ended(state)
                return  # finished before this kernel looked: nothing to wait for
            time.sleep(POLL_SECONDS)

    def wait(self):
        """Block until the run ends; its TrainResult (loaded from runs/NAME), or its error."""
        while (state := self.state) in (STARTING, RUNNING):
            time.sleep(POLL_SECONDS)
        return self._result(state)

    def attach(self, callbacks: Iterable[Callback] = ()):
        """Replay the run's history to CALLBACKS, follow it live until it ends, and return its
        result as wait() does. A KeyboardInterrupt detaches (the run goes on)."""
        from ..ddp.events import EventReplay

        self.wait_until_planned()
        callbacks = list(callbacks)
        replay = EventReplay(self.events_file, callbacks)
        while True:
            state = self.state
            replay.read()  # after reading the state: the last events are in once it says ended
            if state not in (STARTING, RUNNING):
                break
            time.sleep(FOLLOW_SECONDS)
        result = self._result(state)
        for callback in callbacks:
            callback.on_train_end(result)
        return result

    def stop(self, reason: str = STOP_REQUESTED, *, wait: bool = True) -> Outcome | None:
        """Ask the run to stop at its next step with a checkpoint; with WAIT, its outcome."""
        self.folder.ask_stop(reason)
        if not wait:
            return None
        while self.state in (STARTING, RUNNING):
            time.sleep(POLL_SECONDS)
        return self.folder.outcome()

    def _result(self, state: str):
        if state == FINISHED:
            from ..saved import load

            return load(self.job.run_dir)
        self._raise_ended(state)

    def _raise_ended(self, state: str) -> None:
        outcome = self.folder.outcome()
        # the message with the options it names, so that %train words them as for a foreground run
        message = Message.from_json(outcome.message_parts) if outcome and outcome.message_parts else (
            outcome.message if outcome else "")
        if state == STOPPED:
            raise TrainingInterrupted(message, None, where=outcome.where, resume=outcome.resume)
        if state == DIVERGED:
            raise TrainingDiverged(message)
        if state == FAILED:
            kind = getattr(errors, outcome.error, ColabMagicError)
            simple = isinstance(kind, type) and issubclass(kind, ColabMagicError) and kind is not TrainingInterrupted
            raise (kind if simple else ColabMagicError)(message)
        if state == DEAD:
            raise RunDied(tr("The background run {name} ended without a word (killed?); its output: {log}").format(
                name=self.name or self.folder.path.name, log=self.output_log()))

    def output_log(self) -> Path:
        job = self.job
        moved = Path(job.run_dir) / "output.log" if job and job.run_dir else None
        return moved if moved and moved.exists() else self.folder.log
