"""One DDP process of a `--devices N` run: `torchrun ... -m colabmagic.train.ddp.worker JOB`.

launch.py writes JOB (job.py: config, dataset tensors, initial weights, run folders) and starts
torchrun; each worker joins the process group (nccl on CUDA, one GPU per local rank; gloo on the
CPU), rebuilds the plan from JOB and runs the ordinary loop with a `Distributed` handle. Rank 0
streams its callback events to a file the launcher replays; at the end local rank 0 of every node
writes the trained weights and the TrainResult's numbers (all ranks hold the same history: the
epoch metrics are all-reduced) for its node's launcher to pick up.

A worker never outlives its kernel. A watcher thread polls the kernel (the job's owner: pid and
start time) and the torchrun agent (this process's parent) every WATCH_SECONDS; when either is
gone the worker stops as an interrupt does (the ranks agree on a step, rank 0 checkpoints: the
run can be resumed) and, should that take longer than EXIT_GRACE seconds, exits at once. SIGTERM
(what the agent sends when its own parent, the kernel, dies) does the same; whichever comes first
counts, later ones change nothing (a second SIGINT-like signal would skip the checkpoint). When the
kernel is gone there is no one to report to: rank 0 removes the job folder instead.

Why that holds even in the worst moment (a burst of SIGTERMs during backward(), or the main thread
inside a collective whose peer is dead): the exit deadline is a thread armed before anything can
block, woken through a pipe that Python's C-level signal handler writes to (signal.set_wakeup_fd)
even while the main thread runs no Python code; the SIGTERM handler takes no lock, so it cannot
deadlock when it interrupts itself; and every collective gives up after COLLECTIVE_TIMEOUT.

The same watcher passes on a stop the launcher asks for (request_stop() in the kernel, e.g. the
session expiring; outcome.write_stop): it calls request_stop() here with the launcher's reason, and
the ranks stop as for an interrupt, the reason in the message.
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import signal
import sys
import threading
import time
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ...errors import TrainingDiverged, TrainingInterrupted
from ...processes import ProcessIdentity
from ..checkpoint import RunFolders, load_checkpoint
from ..config import TrainConfig
from ..device import autocast_dtype
from ..loop import Distributed, derive_seed, fit
from ..stopping import request_stop
from ..models import build_model
from ..plan import Plan
from .events import EventLog
from .job import read_job
from .outcome import read_stop, write_diverged, write_outcome

WATCH_SECONDS = 0.2  # how often a worker checks that its kernel and its agent still run
EXIT_GRACE = 5.0     # seconds a stop may take (next sync step, checkpoint) before the worker just exits
# How long a collective waits for the other ranks before it fails: the longest legitimate wait is
# sync_every (25) steps of a slow rank, or rank 0's epoch end. A dead peer is normally noticed much
# sooner (torchrun stops the others); this is the backstop for a peer that hangs.
COLLECTIVE_TIMEOUT = timedelta(seconds=float(os.environ.get("COLABMAGIC_DDP_TIMEOUT", 600)))
WATCH_WAKE = b"\0"   # the watcher's byte on the wake-up pipe; a signal's byte is its number (never 0)
# A dead man's switch for what no Python thread can end: a C call that blocks while holding the GIL
# (torch 2.4's gloo hung so in destroy_process_group), where neither the deadline nor the watcher can
# run. The watcher re-arms it every WATCH_SECONDS; C's own timer thread (faulthandler) ends the
# process, tracebacks in the job's output.log, once nothing re-armed it for this long.
HANG_SECONDS = 120.0


def main(job_path: str) -> int:
    job = read_job(job_path)
    lifeline = Lifeline(job["owner"], job["stop"])
    lifeline.start()  # before anything that can block: joining the group, the collectives
    rank, world, local_rank = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    device = join_group(job["device"], local_rank)
    try:
        plan = worker_plan(job, device)
        torch.manual_seed(derive_seed("rank", plan.config.seed, rank))  # each rank its own dropout stream
        callbacks = [EventLog(job["events"])] if rank == 0 else []
        interrupted = None
        try:
            result = fit(plan, callbacks, Distributed(rank, world), signals=(signal.SIGINT,))
        except TrainingInterrupted as err:
            result, interrupted = err.result, err
        except TrainingDiverged as err:  # every rank raises it at the same agreed step
            if local_rank == 0 and lifeline.owner.alive():
                write_diverged(job, str(err))
            dist.barrier()  # leave together, as the all_gather below does on the other paths (torch 2.4's
            return 0        # gloo hung in destroy_process_group when one rank had already gone)
        samples: list[Any] = [None] * world
        dist.all_gather_object(samples, result.extra["rank_samples"])  # shows every rank took part
        if local_rank == 0:  # one report per node: each node's launcher waits for its own
            if lifeline.owner.alive():
                write_outcome(job, result, interrupted, samples)
            else:
                lifeline.remove_job_folder(job_path)
    finally:
        dist.destroy_process_group()
    return 0


def join_group(device_type: str, local_rank: int) -> torch.device:
    """Join torchrun's process group (nccl on CUDA, one GPU per local rank; gloo on the CPU), with
    collectives that fail after COLLECTIVE_TIMEOUT instead of waiting forever for a peer. (device_id
    needs torch >= 2.3, which pyproject.toml asks for.)"""
    if device_type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        # device_id binds the group to this GPU and sets NCCL up now, not at the first collective
        dist.init_process_group("nccl", timeout=COLLECTIVE_TIMEOUT, device_id=device)
        return device
    dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    return torch.device("cpu")


def worker_plan(job: dict[str, Any], device: torch.device) -> Plan:
    """The launcher's plan, rebuilt from the job for this process's device."""
    config = TrainConfig.from_dict(job["config"])
    dataset = job["dataset"]
    model = build_model(job["template"], dataset.spec)
    model.load_state_dict(job["model"])
    folders = job["folders"]
    resume_from = Path(folders["resume_from"]) if folders["resume_from"] else None
    run_folders = RunFolders(folders["name"], Path(folders["logdir"]), Path(folders["checkpoint_dir"]), resume_from)
    state = load_checkpoint(resume_from) if resume_from else None
    known = {f.name for f in fields(Plan)}
    plain = {k: v for k, v in job.get("plan", {}).items() if k in known}
    return Plan(config, job["template"], job["convolutional"], dataset, model, device,
                autocast_dtype(config.precision, device), run_folders, state, time.perf_counter(), **plain)


class Lifeline:
    """Stops this worker when its kernel or its torchrun agent dies (see the module docstring)."""

    def __init__(self, owner: ProcessIdentity, stop_file: str | None = None):
        self.owner = owner
        self.parent = os.getppid()
        self.stop_file = stop_file
        self.stop_passed = stop_file is None
        self.stopping = False  # set by the deadline thread; a plain flag: the signal handler takes no lock
        self._sigterms = itertools.count()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)  # set_wakeup_fd requires it; a full pipe already woke the deadline

    def start(self) -> None:
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        threading.Thread(target=self._deadline, name="colabmagic-exit-deadline", daemon=True).start()
        if threading.current_thread() is threading.main_thread():
            signal.set_wakeup_fd(self._wake_write)
            signal.signal(signal.SIGTERM, self._on_sigterm)
        threading.Thread(target=self._watch, name="colabmagic-lifeline", daemon=True).start()

    def _watch(self) -> None:
        while not self.stopping:
            if os.getppid() != self.parent or not self.owner.alive():
                os.write(self._wake_write, WATCH_WAKE)  # the deadline runs even if no signal is ever handled
                os.kill(os.getpid(), signal.SIGTERM)    # the stop itself: _on_sigterm, in the main thread
                return
            if not self.stop_passed:
                reason = read_stop(self.stop_file)
                # 0 runs asked: fit() has not started yet; ask again at the next look
                self.stop_passed = reason is not None and request_stop(reason) > 0
            faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)  # alive and not stuck: re-armed
            time.sleep(WATCH_SECONDS)

    def _on_sigterm(self, signum, frame) -> None:
        # Python runs this in the main thread between two bytecodes, also inside itself when SIGTERMs
        # come in a burst (the watcher's, the agent's death signal, torchrun's). So: no lock (a lock taken
        # here deadlocks when the handler interrupts itself), nothing that blocks. next() on a counter is
        # a single C call, which no handler can interrupt: exactly one SIGTERM asks for the stop.
        if next(self._sigterms):
            return
        # the SIGINT handler in force: fit()'s (stop at the next step, checkpoint) or Python's default
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    def _deadline(self) -> None:
        """Waits for a SIGTERM or the watcher, then gives the stop EXIT_GRACE seconds."""
        sigterm = bytes([signal.SIGTERM])
        while True:
            woken = os.read(self._wake_read, 512)  # every handled signal's number; only these two count
            if sigterm in woken or WATCH_WAKE in woken:
                break
        self.stopping = True
        time.sleep(EXIT_GRACE)
        os._exit(1)

    def remove_job_folder(self, job_path: str) -> None:
        import shutil

        shutil.rmtree(Path(job_path).parent, ignore_errors=True)


if __name__ == "__main__":
    code = main(sys.argv[1])
    # Skip the interpreter's teardown: with torch loaded its garbage collections and module cleanup
    # take seconds (6 s seen on a busy 2-core machine) that every run would wait for. Everything this
    # process wrote is already whole on disk (write_atomically fsyncs; the event log is flushed).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
