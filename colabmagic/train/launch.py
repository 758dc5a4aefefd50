"""`--devices N`: run a planned training under torchrun (DDP) and bring the result back here.

The notebook process has already resolved everything (plan.py): config, dataset, initial weights
(seeded, or the checkpoint's on resume) and run folders. `launch` writes that job to a private
temporary folder, starts `python -m torch.distributed.run ... -m colabmagic.train.worker JOB` in a
session of its own, and while it runs replays rank 0's callback events (a JSON-lines file the
worker appends to) to this process's callbacks: the progress bar, the live chart and the
TensorBoard writer see what they would see in a single-process run. At the end rank 0's final
weights are loaded into `plan.model`, which `TrainResult.model` returns.

A kernel interrupt (the first KeyboardInterrupt) is passed to torchrun's agent only, which
forwards it once to every worker: the ranks agree to stop at the same step, rank 0 writes a
checkpoint, and TrainingInterrupted says how to resume. A second interrupt kills the workers.

Several machines: every node runs the same `%train` line with its own `--node-rank`
(0..nnodes-1) and the same `--nnodes` and `--rdzv-endpoint HOST:PORT`, where HOST is node 0's
address reachable from the others and PORT a free TCP port on it, e.g. on node 1 of 2:
    %train resnet9 cifar10 --devices 8 --nnodes 2 --node-rank 1 --rdzv-endpoint 10.0.0.1:29500
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Iterable

import torch

from ..atomic_file import write_atomically
from ..errors import DeviceError, TrainingInterrupted
from .callbacks import Callback, Progress, RunInfo
from .plan import Plan
from .result import TrainResult

POLL_SECONDS = 0.05   # how often the event file is read while the workers run
OUTPUT_TAIL = 40      # lines of worker output shown when a run fails


def launch(plan: Plan, callbacks: Iterable[Callback] = ()) -> TrainResult:
    """Train `plan` with plan.config.devices processes per node; see the module docstring."""
    callbacks = list(callbacks)
    check_devices(plan)
    folder = Path(tempfile.mkdtemp(prefix="colabmagic-ddp-"))  # mode 0700: the job holds the data
    try:
        job = write_job(plan, folder)
        log_path = folder / "output.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(torchrun_command(plan, job), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # the kernel's interrupt must reach us, not it
            replay = EventReplay(folder / "events.jsonl", callbacks)
            wait(process, replay)
        replay.read()
        outcome = read_json(folder / "result.json")
        if outcome is None:
            raise RuntimeError(f"torchrun exited with code {process.returncode} before rank 0 reported a "
                               f"result; its last output:\n{tail(log_path)}")
        result = make_result(plan, outcome, folder / "model.pt")
        for callback in callbacks:
            callback.on_train_end(result)
        if outcome["interrupted"]:
            raise TrainingInterrupted(outcome["message"], result)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_devices(plan: Plan) -> None:
    per_node = plan.config.devices
    if plan.device.type == "mps":
        raise DeviceError("DDP (devices > 1) runs on CUDA GPUs or the CPU, not on mps: add --device cpu")
    if plan.device.type == "cuda" and per_node > torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceError(f"devices={per_node} asks for one CUDA GPU per process and this machine has {count}: "
                          f"use devices <= {count}, or device cpu")


def torchrun_command(plan: Plan, job: Path) -> list[str]:
    cfg = plan.config
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={cfg.devices}",
               f"--nnodes={cfg.nnodes}", f"--node-rank={cfg.node_rank}"]
    if cfg.nnodes > 1:
        host, port = cfg.rdzv_endpoint.rsplit(":", 1)
        command += [f"--master-addr={host}", f"--master-port={port}"]  # static rendezvous: ranks by node
    else:
        command.append("--standalone")  # a free local port, nothing to configure
    return command + ["-m", "colabmagic.train.worker", str(job)]


def write_job(plan: Plan, folder: Path) -> Path:
    """Everything a worker needs, as one file that torch.load(weights_only=True) reads."""
    data = plan.dataset
    job = {
        "config": plan.config.to_dict(), "template": plan.template, "convolutional": plan.convolutional,
        "device": plan.device.type,
        "dataset": {f.name: getattr(data, f.name) for f in fields(data)},  # tensors, str, tuples: all load
        "model": plan.model.state_dict(),
        "folders": {"name": plan.folders.name, "logdir": str(plan.folders.logdir),
                    "checkpoint_dir": str(plan.folders.checkpoint_dir),
                    "resume_from": str(plan.folders.resume_from) if plan.folders.resume_from else None},
        "events": str(folder / "events.jsonl"), "result": str(folder / "result.json"),
        "weights": str(folder / "model.pt"),
    }
    path = folder / "job.pt"
    write_atomically(path, lambda file: torch.save(job, file))
    return path


def wait(process: subprocess.Popen, replay: "EventReplay") -> None:
    """Replay events until the process ends; the first interrupt asks it to stop, the second kills it."""
    interrupts = 0
    while True:
        try:
            while process.poll() is None:
                replay.read()
                time.sleep(POLL_SECONDS)
            return
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                process.send_signal(signal.SIGINT)  # the agent forwards it to each worker once
            else:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise


class EventReplay:
    """Reads the worker's JSON-lines event file as it grows and calls the same hooks here."""

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
                self.dispatch(json.loads(line))

    def dispatch(self, event: dict[str, Any]) -> None:
        hook, payload = event["hook"], event["payload"]
        if hook == "on_train_begin":
            args = (RunInfo(**payload),)
        elif hook == "on_progress":
            args = (Progress(**payload),)
        elif hook == "on_epoch_end":
            args = (payload["epoch"], payload["metrics"])
        else:
            args = (payload,)
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


class EventLog(Callback):
    """The worker side (rank 0): appends each hook's arguments as one JSON line, flushed at once."""

    def __init__(self, path: str):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, hook: str, payload: Any) -> None:
        self.file.write(json.dumps({"hook": hook, "payload": payload}) + "\n")
        self.file.flush()

    def on_train_begin(self, run: RunInfo) -> None:
        self.write("on_train_begin", asdict(run))

    def on_progress(self, progress: Progress) -> None:
        self.write("on_progress", asdict(progress))

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.write("on_epoch_end", {"epoch": epoch, "metrics": metrics})

    def on_checkpoint(self, path: str) -> None:
        self.write("on_checkpoint", path)

    def on_train_end(self, result: Any) -> None:
        self.file.close()  # launch() calls on_train_end here itself, with the rebuilt result


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def make_result(plan: Plan, outcome: dict[str, Any], weights: Path) -> TrainResult:
    """Rank 0's TrainResult with the trained weights loaded into plan.model (on plan.device)."""
    model = plan.model
    if weights.exists():
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.to(plan.device).eval()
    values = dict(outcome["result"])
    values["wall_seconds"] = time.perf_counter() - plan.wall_start  # includes starting the processes
    return TrainResult(model=model, **values)


def tail(path: Path, lines: int = OUTPUT_TAIL) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
