"""One DDP process of a `--devices N` run: `torchrun ... -m colabmagic.train.worker JOB`.

launch.py writes JOB (config, dataset tensors, initial weights, run folders) and starts torchrun;
each worker joins the process group (nccl on CUDA, one GPU per local rank; gloo on the CPU),
rebuilds the plan from JOB and runs the ordinary loop with a `Distributed` handle. Rank 0 streams
its callback events to a file the launcher replays; at the end local rank 0 of every node writes
the trained weights and the TrainResult's numbers (all ranks hold the same history: the epoch
metrics are all-reduced) for its node's launcher to pick up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..errors import TrainingInterrupted
from ..atomic_file import write_atomically
from .checkpoint import RunFolders, load_checkpoint
from .config import TrainConfig
from .data.dataset import Dataset
from .device import autocast_dtype
from .launch import EventLog
from .loop import Distributed, derive_seed, fit
from .models import build_model
from .plan import Plan
from .result import TrainResult


def main(job_path: str) -> int:
    job = torch.load(job_path, map_location="cpu", weights_only=True)
    rank, world, local_rank = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if job["device"] == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend)
    try:
        plan = worker_plan(job, device)
        torch.manual_seed(derive_seed("rank", plan.config.seed, rank))  # each rank its own dropout stream
        callbacks = [EventLog(job["events"])] if rank == 0 else []
        message = None
        try:
            result = fit(plan, callbacks, Distributed(rank, world), signals=(signal.SIGINT, signal.SIGTERM))
        except TrainingInterrupted as err:
            result, message = err.result, str(err)
        samples: list[Any] = [None] * world
        dist.all_gather_object(samples, result.extra["rank_samples"])  # shows every rank took part
        if local_rank == 0:  # one report per node: each node's launcher waits for its own
            report(job, result, message, samples)
    finally:
        dist.destroy_process_group()
    return 0


def worker_plan(job: dict[str, Any], device: torch.device) -> Plan:
    """The launcher's plan, rebuilt from the job file for this process's device."""
    config = TrainConfig.from_dict(job["config"])
    dataset = Dataset(**job["dataset"])
    model = build_model(job["template"], dataset.spec)
    model.load_state_dict(job["model"])
    folders = job["folders"]
    resume_from = Path(folders["resume_from"]) if folders["resume_from"] else None
    run_folders = RunFolders(folders["name"], Path(folders["logdir"]), Path(folders["checkpoint_dir"]), resume_from)
    state = load_checkpoint(resume_from) if resume_from else None
    return Plan(config, job["template"], job["convolutional"], dataset, model, device,
                autocast_dtype(config.precision, device), run_folders, state, time.perf_counter())


def report(job: dict[str, Any], result: TrainResult, message: str | None, samples: list[int]) -> None:
    """Rank 0: the weights (torch file) and everything else of the result (JSON) for the launcher."""
    weights = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    write_atomically(Path(job["weights"]), lambda file: torch.save(weights, file))
    values = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "model"}
    values["extra"] = {**values["extra"], "rank_samples": samples, "world_size": len(samples)}
    outcome = {"interrupted": message is not None, "message": message, "result": values}
    write_atomically(Path(job["result"]), lambda file: file.write(json.dumps(outcome).encode()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
