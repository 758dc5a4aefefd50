"""Training that outlives the browser and the kernel: `%train ... --background`.

A background run is a process of its own session (not a child that dies with the kernel): the
kernel writes what to run into a job folder and starts `python -m colabmagic.train.background.process
FOLDER`; the process plans and trains as `%train` does in the kernel, writing rank 0's callback
events (ddp/events.py's stream) and its output to runs/NAME/, and its outcome when it ends. Any
kernel on the machine can list the runs (`jobs`), follow one (`BackgroundRun.attach`), stop it at
the next step with a checkpoint (`stop`) or wait for its result (`wait`).

One job folder per run, `<state folder>/colabmagic-jobs/<id>/` (files.state_dir(), mode 0700):

    spec.json     what to run: the TrainConfig's explicit options, the working folder, the line
    job.json      the process: its identity, the run's name and folder once planned (it alone writes it)
    outcome.json  how it ended: finished, stopped, diverged or failed, the message, the resume options
    stop.json     a stop request (`--stop`, the session's limit), read by the process's watcher
    output.log    the process's output until the run's folder is known (then runs/NAME/output.log)

records.py owns those formats (typed, versioned records, both sides); process.py is the detached
process; run.py the kernel's handle; listing.py the `--jobs` table.
"""

from __future__ import annotations

from .listing import JobsTable, jobs
from .run import BackgroundRun, find, start

__all__ = ["BackgroundRun", "JobsTable", "find", "jobs", "start"]
