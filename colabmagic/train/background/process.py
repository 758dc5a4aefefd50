"""A background run's own process: `python -m colabmagic.train.background.process JOB_FOLDER`.

It runs in a session of its own, so neither a kernel interrupt nor the kernel's death reaches it.
It writes its identity (job.json), plans and trains as `%train` does, tells the job folder its run
once planned, streams rank 0's events to runs/NAME/events.jsonl and ends with an outcome record.
A stop request (stop.json: `--stop`, the session's limit) stops it at the next step with a
checkpoint, as a kernel interrupt stops a foreground run.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from ...errors import ColabMagicError, Message, TrainingDiverged, TrainingInterrupted
from ...locale import tr
from ...processes import ProcessIdentity
from ..callbacks import Callback, RunInfo
from ..ddp.events import EventLog
from .records import DIVERGED, FAILED, FINISHED, STOPPED, Job, JobFolder, Outcome

WATCH_SECONDS = 0.2  # how often the stop file is looked at
EVENTS_FILE, LOG_FILE = "events.jsonl", "output.log"


def main(folder_path: str) -> int:
    folder = JobFolder(Path(folder_path))
    spec = folder.spec()
    if spec is None:
        print(tr("{path}: no readable run specification").format(path=folder.spec_file), file=sys.stderr)
        return 2
    os.chdir(spec.cwd)
    me = ProcessIdentity.of(os.getpid())
    job = Job(me.pid, me.start, time.time())
    folder.write_job(job)
    threading.Thread(target=_pass_stops, args=(folder,), name="colabmagic-stop-watch", daemon=True).start()
    folder.write_outcome(_train(folder, job, spec.options))
    return 0


def _train(folder: JobFolder, job: Job, options: dict) -> Outcome:
    from .. import train
    from ..config import TrainConfig

    announcer = RunAnnouncer(folder, job)
    try:
        result = train(TrainConfig.from_dict(options), callbacks=[announcer])
    except TrainingInterrupted as stopped:
        return Outcome(STOPPED, time.time(), message=str(stopped), where=stopped.where, resume=stopped.resume,
                       message_parts=_parts(stopped))
    except TrainingDiverged as err:
        return Outcome(DIVERGED, time.time(), message=str(err), message_parts=_parts(err))
    except ColabMagicError as err:
        return Outcome(FAILED, time.time(), message=str(err), error=type(err).__name__, message_parts=_parts(err))
    except BaseException as err:  # a bug: its traceback in the log, one line in the outcome
        traceback.print_exc()
        return Outcome(FAILED, time.time(), message=tr("{kind}: {error} (the traceback is in output.log)").format(
            kind=type(err).__name__, error=err))
    finally:
        announcer.close()
    return Outcome(FINISHED, time.time(), metrics={k: float(v) for k, v in result.metrics.items()})


def _parts(err: ColabMagicError) -> list | None:
    """The error's message as Message parts, so the kernel words its options as %train does (--lr)."""
    message = err.args[0] if len(err.args) == 1 else None
    return message.to_json() if isinstance(message, Message) else None


class RunAnnouncer(Callback):
    """Once the run is planned (its first hook): says its name and folder in job.json, moves the
    output to runs/NAME/output.log and streams the events to runs/NAME/events.jsonl."""

    def __init__(self, folder: JobFolder, job: Job):
        self.folder, self.job = folder, job
        self.events: EventLog | None = None

    def on_train_begin(self, run: RunInfo) -> None:
        run_dir = Path(run.logdir or Path("runs") / run.name).resolve()
        self._move_output(run_dir / LOG_FILE)
        (run_dir / EVENTS_FILE).unlink(missing_ok=True)  # an earlier run of this name (resumed): not replayed
        self.events = EventLog(run_dir / EVENTS_FILE)
        self.events.on_train_begin(run)
        self.job = dataclasses.replace(self.job, name=run.name, run_dir=str(run_dir), device=run.device,
                                       epochs=run.epochs, steps_per_epoch=run.steps_per_epoch,
                                       start_epoch=run.start_epoch)
        self.folder.write_job(self.job)

    def on_progress(self, progress) -> None:
        if self.events is not None:
            self.events.on_progress(progress)

    def on_epoch_end(self, epoch, metrics) -> None:
        if self.events is not None:
            self.events.on_epoch_end(epoch, metrics)

    def on_checkpoint(self, path) -> None:
        if self.events is not None:
            self.events.on_checkpoint(path)

    def close(self) -> None:
        if self.events is not None:
            self.events.on_train_end(None)

    def _move_output(self, log: Path) -> None:
        """From here on, stdout and stderr go to runs/NAME/output.log, after what was said so far."""
        sys.stdout.flush()
        sys.stderr.flush()
        with open(log, "wb") as new:
            new.write(self.folder.log.read_bytes() if self.folder.log.exists() else b"")
            new.flush()
            os.dup2(new.fileno(), 1)
            os.dup2(new.fileno(), 2)


def _pass_stops(folder: JobFolder) -> None:
    """Passes a stop request on to the run; until the run has started (0 runs asked) it asks again."""
    from ..stopping import request_stop

    while True:
        reason = folder.stop_reason()
        if reason is not None and request_stop(reason) > 0:
            return
        time.sleep(WATCH_SECONDS)


if __name__ == "__main__":
    code = main(sys.argv[1])
    # skip the interpreter's teardown (seconds with torch loaded): everything is on disk already
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
