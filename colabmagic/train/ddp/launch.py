"""`--devices N`: run a planned training under torchrun (DDP) and bring the result back here.

The notebook process has already resolved everything (plan.py): config, dataset, initial weights
(seeded, or the checkpoint's on resume) and run folders. `launch` writes that job to a private
temporary folder, starts `python -m torch.distributed.run ... -m colabmagic.train.ddp.worker JOB` in a
session of its own, and while it runs replays rank 0's callback events (a JSON-lines file the
worker appends to) to this process's callbacks: the progress bar, the live chart and the
TensorBoard writer see what they would see in a single-process run. At the end rank 0's final
weights are loaded into `plan.model`, which `TrainResult.model` returns.

The job folder's files (job, events, outcome) are this package's: each module writes and reads both sides.

A kernel that dies (kill -9, a crash, a restart) takes the run with it: torchrun's agent gets
SIGTERM the moment its parent dies (Linux PR_SET_PDEATHSIG, armed by a few lines that run before
exec'ing torchrun) and stops its workers; the workers also watch the kernel's pid themselves
(worker.py), which covers systems without PR_SET_PDEATHSIG and an agent that died first. The job
folder left behind is removed at the next start (job.remove_stale).

A kernel interrupt (the first KeyboardInterrupt) is passed to torchrun's agent only, which
forwards it once to every worker: the ranks agree to stop at the same step, rank 0 writes a
checkpoint, and TrainingInterrupted says how to resume. A second interrupt kills the workers.
request_stop() (the session expiring) reaches a launch too: it is registered with the loop's
runs, and wait() passes the request to the workers as a file (outcome.write_stop) that carries the
reason, so the stop message says why ("stopped (the session's time limit was reached)").

Several machines: every node runs the same `%train` line with its own `--node-rank`
(0..nnodes-1) and the same `--nnodes` and `--rdzv-endpoint HOST:PORT`, where HOST is node 0's
address reachable from the others and PORT a free TCP port on it, e.g. on node 1 of 2:
    %train resnet9 cifar10 --devices 8 --nnodes 2 --node-rank 1 --rdzv-endpoint 10.0.0.1:29500
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

import torch

from ...errors import DeviceError, TrainingDiverged, TrainingInterrupted
from ...locale import tr
from ..callbacks import Callback
from ..stopping import StopRequest, registered
from ..notes import tell
from ..outcome import data_fields
from ..plan import Plan
from ..result import TrainResult
from .events import EventReplay
from .job import JobFolder
from .outcome import Outcome, read_outcome, write_stop

POLL_SECONDS = 0.05   # how often the event file is read while the workers run
OUTPUT_TAIL = 40      # lines of worker output shown when a run fails

# Runs as `python -c GUARD PARENT_PID COMMAND...` in the child: arms PR_SET_PDEATHSIG (SIGTERM when
# its parent dies; it survives exec) and becomes COMMAND. A parent that died before the signal was
# armed is caught by comparing getppid(). No imports beyond the standard library: it starts in ~20 ms.
GUARD = """\
import os, signal, sys
parent = int(sys.argv[1])
if sys.platform.startswith("linux"):
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
if os.getppid() != parent:
    sys.exit(1)
command = sys.argv[2:]
if command[:3] != [sys.executable, "-m", "torch.distributed.run"]:
    os.execv(command[0], command)
import runpy, traceback
sys.argv = [command[0], *command[3:]]
try:
    runpy.run_module("torch.distributed.run", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else (stop.code is not None)
except BaseException:
    traceback.print_exc()
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)  # skips the interpreter's teardown: seconds with torch loaded
"""


def launch(plan: Plan, callbacks: Iterable[Callback] = ()) -> TrainResult:
    """Train `plan` with plan.config.devices processes per node; see the module docstring."""
    callbacks = list(callbacks)
    check_devices(plan)
    tell(plan.notes)
    folder = JobFolder.create()  # removes the folders of runs whose kernel died first
    try:
        job = folder.write_job(plan)
        with open(folder.log, "wb") as log:
            process = subprocess.Popen(guarded(torchrun_command(plan, job)), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # the kernel's interrupt must reach us, not it
            replay = EventReplay(folder.events, callbacks)
            stop = StopRequest()
            with registered(stop):  # request_stop() reaches this run as it reaches a fit()
                wait(process, replay, stop, folder)
        replay.read()
        outcome = read_outcome(folder.result)
        if outcome is None:
            raise RuntimeError(tr("torchrun exited with code {code} before rank 0 reported a result; its last "
                                  "output:\n{output}").format(code=process.returncode,
                                                              output=folder.output_tail(OUTPUT_TAIL)))
        if outcome.diverged is not None:
            raise TrainingDiverged(outcome.diverged)
        result = make_result(plan, outcome, folder.read_weights())
        for callback in callbacks:
            callback.on_train_end(result)
        if outcome.interrupted:
            raise TrainingInterrupted(outcome.message, result, where=outcome.where, resume=outcome.resume)
        return result
    finally:
        folder.remove()


def check_devices(plan: Plan) -> None:
    per_node = plan.config.devices
    if plan.device.type == "mps":
        raise DeviceError(tr("DDP (devices > 1) runs on CUDA GPUs or the CPU, not on mps: add --device cpu"))
    if plan.device.type != "cuda":
        return
    from ...runtime import gpus_for_new_processes

    # what the workers will see (CUDA_VISIBLE_DEVICES now), not this kernel's device_count(), which
    # stays what CUDA saw when it started here, before a %runtime selection
    count = gpus_for_new_processes()
    if count is None:
        count = torch.cuda.device_count()
    if per_node > count:
        raise DeviceError(tr("devices={devices} asks for one CUDA GPU per process and this machine has {count}: "
                             "use devices <= {count}, or device cpu").format(devices=per_node, count=count))


def torchrun_command(plan: Plan, job) -> list[str]:
    cfg = plan.config
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={cfg.devices}",
               f"--nnodes={cfg.nnodes}", f"--node-rank={cfg.node_rank}"]
    if cfg.nnodes > 1:
        host, port = cfg.rdzv_endpoint.rsplit(":", 1)
        command += [f"--master-addr={host}", f"--master-port={port}"]  # static rendezvous: ranks by node
    else:
        command.append("--standalone")  # a free local port, nothing to configure
    command.append(f"--log-dir={Path(job).parent / 'torchelastic'}")  # else a torchelastic_* folder stays in temp
    return command + ["-m", "colabmagic.train.ddp.worker", str(job)]


def guarded(command: list[str]) -> list[str]:
    """`command`, started so that it gets SIGTERM when this process dies (see GUARD)."""
    return [sys.executable, "-c", GUARD, str(os.getpid()), *command]


def wait(process: subprocess.Popen, replay: EventReplay, stop: StopRequest, folder: JobFolder) -> None:
    """Replay events until the process ends; the first interrupt asks it to stop, the second kills it.
    A request_stop() (`stop`) is passed to the workers once, with its reason."""
    interrupts = 0
    passed_on = False
    while True:
        try:
            while process.poll() is None:
                replay.read()
                if stop.requested and not passed_on:
                    write_stop(folder.stop, stop.reason)
                    passed_on = True
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


def make_result(plan: Plan, outcome: Outcome, weights: dict[str, torch.Tensor] | None) -> TrainResult:
    """Rank 0's TrainResult with the trained weights loaded into plan.model (on plan.device)."""
    model = plan.model
    if weights is not None:
        model.load_state_dict(weights)
    model.to(plan.device).eval()
    values = dict(outcome.result)
    values["wall_seconds"] = time.perf_counter() - plan.wall_start  # includes starting the processes
    # what predict() and save() need: this process's plan has it, the workers' JSON has not
    return TrainResult(model=model, **values, **data_fields(plan))
