"""%train MODEL [DATASET] [options]: train a built-in template with a live view."""

from __future__ import annotations

import contextlib
import re
import shlex
import warnings
from typing import Iterator

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import mark, tr
from ..train.resume import resume_line
from .base import ColabMagics, output_arguments, reports_errors


@magics_class
class TrainMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("model", nargs="?", help="Model template: mlp, cnn, resnet9, resnet18, lstm, transformer.")
    @argument("dataset", nargs="?",
              help="Dataset name (default digits, embedded), or a folder, .csv or .npz path (quote paths with spaces).")
    @argument("--list", action="store_true", help="List the model templates and datasets.")
    @argument("--load", metavar="RUN", help="Bring back a finished run (runs/RUN) or a saved model file.")
    @argument("--data", nargs=2, metavar=("X", "Y"), help="Train on arrays (or a DataFrame / list of texts) X and Y from the notebook.")
    @argument("--epochs", type=int, help="Passes over the training set.")
    @argument("--batch-size", type=int, help="Examples per step.")
    @argument("--lr", type=float, help="Peak learning rate.")
    @argument("--optimizer", help="sgd or adamw.")
    @argument("--scheduler", help="onecycle, cosine or none.")
    @argument("--weight-decay", type=float, help="Decoupled (adamw) or L2 (sgd) weight decay.")
    @argument("--label-smoothing", type=float, help="Cross-entropy label smoothing, 0..1.")
    @argument("--augment", help="On-device augmentation, comma list: flip, crop, cropN (N px).")
    @argument("--precision", help="auto, bf16, fp16 or fp32 (auto: bf16 on CUDA, fp32 on CPU).")
    @argument("--compile", action="store_true", default=None, help="Use torch.compile.")
    @argument("--device", help="auto, cpu, cuda, cuda:N or mps.")
    @argument("--threads", type=int, help="CPU threads (default: chosen from the cores that are free).")
    @argument("--seed", type=int, help="Random seed (same seed, same result on the CPU).")
    @argument("--val-split", type=float, help="Fraction of the training set held out for validation.")
    @argument("--target", help="CSV/DataFrame: the label column.")
    @argument("--drop", metavar="COL[,COL...]", help="CSV/DataFrame: columns to leave out.")
    @argument("--text", metavar="COLUMN", help="CSV/DataFrame: a text column to train lstm/transformer on.")
    @argument("--image-size", metavar="N|HxW", help="Resize images to N x N or H x W pixels.")
    @argument("--name", help="Run name (default MODEL-DATASET): runs/NAME holds logs and checkpoints.")
    @argument("--logdir", help="TensorBoard log folder (default runs/NAME).")
    @argument("--checkpoint-dir", help="Checkpoint folder (default runs/NAME/checkpoints).")
    @argument("--checkpoint-every", type=float, metavar="MINUTES", help="Also checkpoint mid-epoch.")
    @argument("--keep-checkpoints", type=int, metavar="K", help="Keep the newest K checkpoints (0 = all).")
    @argument("--resume", action="store_true", default=None, help="Continue from the newest checkpoint.")
    @argument("--devices", type=int, help="Train with N processes (DDP through torchrun).")
    @argument("--nnodes", type=int, help="torchrun: number of nodes.")
    @argument("--node-rank", type=int, help="torchrun: this node's rank.")
    @argument("--rdzv-endpoint", help="torchrun: HOST:PORT of the rendezvous.")
    @argument("--background", action="store_true",
              help="Train in a process of its own that outlives this kernel and the browser; returns once planned.")
    @argument("--jobs", action="store_true", help="List the background runs on this machine.")
    @argument("--attach", metavar="NAME", help="Follow a background run live (interrupt to detach: it goes on).")
    @argument("--stop", metavar="NAME", help="Stop a background run at its next step, with a checkpoint.")
    @argument("--quiet", action="store_true", help="No live view: print only the summary.")
    @output_arguments
    @reports_errors
    def train(self, line):
        """Train a built-in PyTorch model template, e.g. `%train cnn digits --epochs 10`."""
        args = self.parse(self.train, line)
        from ..errors import TrainingInterrupted
        from ..train import train
        from ..train.catalogue import catalogue
        from ..train.progress import default_views

        if args.list:
            return self.deliver(catalogue(), args)
        if args.jobs:
            from ..train.background import jobs

            return self.deliver(jobs(), args, show=True)
        if args.attach:
            return self.attach(args)
        if args.stop:
            return self.stop(args)
        if args.load:
            from ..train import load

            with in_magic_words():
                return self.deliver(load(args.load), args, show=True)
        if not args.model:
            raise UsageError(tr("%train needs a model: %train MODEL [DATASET] (see %train --list)"))
        if args.data and args.dataset:
            raise UsageError(tr("--data {names} trains on notebook variables: drop {dataset!r}, "
                                "or drop --data to train on it")
                             .format(names=" ".join(args.data), dataset=args.dataset))
        if args.background:
            return self.background(line, args)
        try:
            with _session_stops_training(), in_magic_words():  # the core's `lr=` reads `--lr` here
                result = train(args.model, args.dataset, data=self.arrays(args.data),
                               callbacks=default_views(args.quiet), **config_options(args))
        except TrainingInterrupted as stopped:
            # not an error: the partial result is delivered and the line to continue is shown
            print(resume_text(stopped.where, resume_line(line, stopped.resume)))
            if stopped.result is None:
                return None
            return self.deliver(stopped.result, args, show=False)
        # the run's notes (a renamed run, resized images, ...) were printed as it started: in_magic_words
        return self.deliver(result, args, show=True)

    def background(self, line, args):
        from ..train import TrainConfig
        from ..train.background import start
        if args.data:
            raise UsageError(tr("--background trains a named dataset or a file: --data arrays live in this kernel; "
                                "save them (e.g. np.savez) and pass the path"))
        with in_magic_words():
            run = start(TrainConfig.from_dict({"model": args.model, **({"dataset": args.dataset} if args.dataset else {}),
                                               **config_options(args)}), line=line)
        _session_stops_background(run)
        job = run.job
        print(tr("{name} trains in the background (pid {pid}, {device}): it goes on if this kernel or the "
                 "browser goes. Follow it with %train --attach {name}, list runs with %train --jobs, "
                 "stop it with %train --stop {name}").format(name=run.name, pid=job.pid, device=job.device))
        return run if args.output else None

    def attach(self, args):
        from ..errors import TrainingInterrupted
        from ..train.background import find
        from ..train.progress import default_views

        run = find(args.attach)
        try:
            result = run.attach(default_views(args.quiet))
        except KeyboardInterrupt:
            print(tr("Detached from {name}: it goes on (%train --attach {name} follows it again)")
                  .format(name=run.name))
            return None
        except TrainingInterrupted as stopped:
            spec = run.folder.spec()
            print(resume_text(stopped.where, resume_line(spec.line if spec else '', stopped.resume)))
            return None
        return self.deliver(result, args, show=True)

    def stop(self, args):
        from ..train.background import find
        from ..train.background.records import RUNNING, STARTING

        run = find(args.stop)
        if run.state not in (STARTING, RUNNING):
            raise UsageError(tr("{name} is not running ({state}): nothing to stop")
                             .format(name=run.name, state=run.state))
        outcome = run.stop()
        spec = run.folder.spec()
        if outcome is not None and outcome.where:
            print(resume_text(outcome.where, resume_line(spec.line if spec else '', outcome.resume)))
        else:
            print(tr("{name} ended: {state}").format(name=run.name, state=run.state))
        return None

    def arrays(self, names):
        if names is None:
            return None
        missing = [n for n in names if n not in self.shell.user_ns]
        if missing:
            raise UsageError(tr("--data: no variable named {name!r} in the notebook").format(name=missing[0]))
        return tuple(self.shell.user_ns[n] for n in names)


def resume_text(where: str, line: str) -> str:
    """Where a run stopped and the %train line that continues it, on a line of its own."""
    return tr("{where} Resume with:\n    {line}").format(where=where, line=line)


def config_options(args) -> dict:
    """The flags that are TrainConfig fields (an allow-list: display flags never reach the core)."""
    from dataclasses import fields

    from ..train.config import TrainConfig

    skip = {"model", "dataset"}
    return {f.name: getattr(args, f.name) for f in fields(TrainConfig)
            if f.name not in skip and getattr(args, f.name, None) is not None}


# options whose %train form is not just --name-with-dashes
SPECIAL_FLAGS = {"data": "--data", "dataset": "DATASET", "model": "MODEL"}


def flag(option) -> str:
    """An Option (colabmagic.errors) as %train writes it: image_size= -> --image-size,
    drop='Name,Id' -> --drop Name,Id, resume=True -> --resume."""
    name = SPECIAL_FLAGS.get(option.name, "--" + option.name.replace("_", "-"))
    if option.value is None:
        return name
    if isinstance(option.value, bool):
        return name if option.value else tr("no {flag}").format(flag=name)
    return f"{name} {_quoted(str(option.value))}"


def _quoted(value: str) -> str:
    """shlex.quote, except that letters of any script need no quotes (`--text 名称`, as shlex.split reads it)."""
    return value if re.fullmatch(r"[\w@%+=:,./-]+", value) else shlex.quote(value)


@contextlib.contextmanager
def in_magic_words() -> Iterator[None]:
    """The core's errors, notes and warnings in %train's words (`--lr` where Python says `lr=`): an
    error keeps its class and attributes (TrainingInterrupted.result), a note (notes.TrainingNote)
    is printed at once as a plain line, and other warnings are issued again once the call is over."""
    from ..errors import ColabMagicError, worded
    from ..train.notes import TrainingNote

    caught: list[warnings.WarningMessage] = []

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, TrainingNote):  # a note: a line of its own, before the run's output
            print(worded(message.args[0] if message.args else message, flag))
        else:
            caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    try:
        with warnings.catch_warnings():  # restores showwarning on the way out
            warnings.simplefilter("always")
            warnings.showwarning = show
            yield
    except ColabMagicError as err:
        err.args = (err.worded(flag),) + tuple(err.args[1:])  # in place: its class and attributes stay
        raise
    finally:
        for item in caught:
            text = worded(item.message.args[0] if item.message.args else item.message, flag)
            warnings.warn_explicit(text, item.category, item.filename, item.lineno)


SESSION_STOP = mark("stopped (the session's time limit was reached)")  # tr() where it is asked: the run words it
STOP_RETRY_SECONDS = 0.05  # how often an expiry that came while %train was still planning asks again


def _session_stops_background(run) -> None:
    """The session's limit stops this kernel's background run as it stops a foreground one (at the
    next step, with a checkpoint); `--on-expire shutdown` then ends the kernel, not the run."""
    from .. import session
    from ..train.background.records import RUNNING, STARTING

    current = session.current()
    if current is None:
        return

    def stop_background(*_) -> int:
        if run.state not in (STARTING, RUNNING):
            return 0
        run.stop(tr(SESSION_STOP), wait=False)
        return 1

    current.add_expiry_hook(stop_background)


def _session_stops_training():
    """While %train runs, the kernel's session expiring stops it like an interrupt (resume line shown).

    An expiry that comes before the run has started (the data is still loading) keeps asking until the
    run starts, so it stops at its first step instead of training to the end."""
    import contextlib
    import threading

    from .. import session

    current = session.current()
    if current is None:
        return contextlib.nullcontext()
    finished = threading.Event()

    def ask_until_started() -> None:
        from ..train.stopping import request_stop

        while not finished.is_set() and not request_stop(tr(SESSION_STOP)):
            finished.wait(STOP_RETRY_SECONDS)

    def stop_training(*_) -> int:
        """How many runs this expiry stopped (the session counts them): this %train's run, or none."""
        from ..train.stopping import request_stop

        asked = request_stop(tr(SESSION_STOP))
        if asked or finished.is_set():
            return asked
        threading.Thread(target=ask_until_started, name="colabmagic-train-expiry", daemon=True).start()
        return 1  # the run this %train is about to start

    @contextlib.contextmanager
    def hooked():
        remove = current.add_expiry_hook(stop_training)
        try:
            yield
        finally:
            finished.set()
            remove()

    return hooked()
