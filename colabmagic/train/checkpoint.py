"""Checkpoints that survive a dead kernel, and the run folders they live in.

Run folders. A run named NAME (default MODEL-DATASET) writes TensorBoard events to runs/NAME/ and
checkpoints to runs/NAME/checkpoints/. A fresh run never mixes with an earlier one: when
runs/NAME already holds files, it becomes runs/NAME-2 (then -3, ...). `resume` picks, among
runs/NAME and runs/NAME-N, the folder whose newest checkpoint was written last. `logdir` and
`checkpoint_dir` override the folders; an explicit checkpoint_dir that already holds checkpoints
is refused for a fresh run (resume it, or pick another folder).

When. At the end of an epoch (unless the previous checkpoint is less than a second old: tiny
epochs would pay more for checkpoints than for training; the last epoch always writes one), every
`checkpoint_every` minutes within an epoch, and when training is interrupted.

Files. `epoch{E:04d}-step{S:06d}.pt`: E is the 0-based epoch in progress and S the steps done in
it, so an epoch-end checkpoint is `epoch{E+1}-step000000.pt` and names sort in training order.
Each is written to NAME.part, flushed, fsynced and renamed, so a file either is whole or is not
there; the newest `keep_checkpoints` are kept.

Contents: one dict that `torch.load(path, weights_only=True)` reads (tensors, plain containers,
str/int/float/bool/None): format tag and version, template name, dataset name/kind/shape/classes,
the resolved config, epoch/step/global step, model/optimizer/scheduler/grad-scaler state dicts,
the RNG states (torch CPU, CUDA), the epoch's running metric sums, the history so far.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_atomically
from ..errors import CheckpointError, ConfigError, Message, Option
from ..locale import tr

FORMAT = "colabmagic.train/checkpoint"
VERSION = 1
RUNS_ROOT = Path("runs")
_NAME = re.compile(r"epoch(\d{4,})-step(\d{6,})\.pt")


RESUMING = Option("resume", True)  # resume=True in Python, --resume in %train


def checkpoint_name(epoch: int, step: int) -> str:
    return f"epoch{epoch:04d}-step{step:06d}.pt"


def checkpoint_files(folder: str | os.PathLike) -> list[Path]:
    """The checkpoints in `folder`, oldest first (by epoch, then step); .part files are not checkpoints."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.fullmatch(path.name)
        if match and path.is_file():
            found.append(((int(match.group(1)), int(match.group(2))), path))
    return [path for _, path in sorted(found)]


def save_checkpoint(folder: Path, state: dict[str, Any], keep: int) -> Path:
    """Write `state` as the checkpoint for its (epoch, step) and drop all but the newest `keep` (0 = all)."""
    import torch

    state = {"format": FORMAT, "version": VERSION, **state}
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path = write_atomically(folder / checkpoint_name(state["epoch"], state["step"]),
                                lambda file: torch.save(state, file))
    except (OSError, RuntimeError) as err:  # torch.save words a failed write (a full disk) as a RuntimeError
        import shutil

        reason = (getattr(err, "strerror", None) or str(err)).strip().splitlines()[0][:160]
        free = shutil.disk_usage(folder).free / 2**20
        raise CheckpointError(Message.of(
            tr("Cannot write a checkpoint in {folder} ({reason}; {free:.1f} MiB free there): free some space, "
               "or choose another {checkpoint_dir}"),
            folder=folder, reason=reason, free=free, checkpoint_dir=Option("checkpoint_dir"))) from None
    if keep:
        for old in checkpoint_files(folder)[:-keep]:
            old.unlink(missing_ok=True)
    return path


class CheckpointWriter:
    """Writes checkpoints on a background thread, so the training loop only pays for a snapshot.

    One write is in flight at a time; `save` waits for the previous one (and re-raises its error).
    The snapshot clones every tensor on its own device first: training goes on changing the
    originals in place while the thread serialises the copies.
    """

    def __init__(self, folder: Path, keep: int):
        self.folder, self.keep = folder, keep
        self.pending: Any = None          # (future, path) of the write in flight
        self.executor: Any = None

    def save(self, state: dict[str, Any], *, wait: bool = False) -> Path:
        from concurrent.futures import ThreadPoolExecutor

        self.wait()
        path = self.folder / checkpoint_name(state["epoch"], state["step"])
        snapshot = _snapshot(state)
        if wait:
            save_checkpoint(self.folder, snapshot, self.keep)
            return path
        if self.executor is None:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self.pending = (self.executor.submit(save_checkpoint, self.folder, snapshot, self.keep), path)
        return path

    def finished(self) -> Path | None:
        """The path of a write that has completed since the last call, without waiting."""
        if self.pending is not None and self.pending[0].done():
            return self.wait()
        return None

    def wait(self) -> Path | None:
        """Block until the write in flight is on disk; its path (None if there was none)."""
        if self.pending is None:
            return None
        future, path = self.pending
        self.pending = None
        future.result()
        return path

    def close(self) -> Path | None:
        try:
            return self.wait()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True)
                self.executor = None


def _snapshot(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        copy = type(value)((k, _snapshot(v)) for k, v in value.items())
        if hasattr(value, "_metadata"):  # a module state_dict's per-module versions, read by load_state_dict
            copy._metadata = value._metadata
        return copy
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value)
    return value


def read_plain_data(path: Path, *, missing: str, unreadable: str, **values: Any) -> Any:
    """torch.load with weights_only=True: tensors and plain data only, never a pickle that can run code.

    A missing or unreadable file is one CheckpointError from the (translated) template `missing` or
    `unreadable`, with {path}, {reason} (unreadable only) and VALUES (e.g. an Option) filled in.
    """
    import pickle
    import tarfile
    import zipfile

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(Message.of(missing, path=path, **values)) from None
    # KeyError, tarfile.TarError: older torch (2.4) reads a file that is not a zip as its legacy
    # tar format, and a zeroed or truncated one fails in there ("filename 'storages' not found")
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError,
            KeyError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(Message.of(unreadable, path=path, reason=reason[:160], **values)) from None


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a checkpoint; anything unreadable or not ours is a CheckpointError, never None."""
    path = Path(path)
    state = read_plain_data(
        path, missing=tr("Checkpoint {path} does not exist"),
        unreadable=tr("Checkpoint {path} is corrupt or not a PyTorch file ({reason}): delete it to resume from an "
                      "older checkpoint, or train without {resume}"), resume=RESUMING)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(Message.of(tr("{path} is not a colabmagic training checkpoint: resume needs a checkpoint "
                                            "written by train()/%train, or train without {resume}"),
                                         path=path, resume=RESUMING))
    if state.get("version") != VERSION:
        raise CheckpointError(Message.of(tr("{path} has checkpoint format version {version!r}; this colabmagic reads "
                                            "version {supported}: train without {resume}"),
                                         path=path, version=state.get("version"), supported=VERSION, resume=RESUMING))
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(tr("{path} lacks {keys}: it is not a complete checkpoint").format(
            path=path, keys=", ".join(missing)))
    return state


REQUIRED_KEYS = ("template", "dataset", "config", "epoch", "step", "global_step", "model", "optimizer", "rng")


def check_fits(state: dict[str, Any], path: Path, *, template: str, dataset: dict[str, Any] | None = None) -> None:
    """Raise CheckpointError when a checkpoint belongs to another model (or, given, another dataset)."""
    if state["template"] != template:
        raise CheckpointError(tr("{path} was written by model {saved!r}, not {template!r}: resume with {saved!r}, "
                                 "or start a fresh run with another name").format(
            path=path, saved=state["template"], template=template))
    if dataset is None:
        return
    theirs = state["dataset"]
    for key in ("name", "kind", "input_shape", "num_classes"):
        if list_or_value(theirs.get(key)) != list_or_value(dataset.get(key)):
            raise CheckpointError(tr("{path} was trained on {saved}, not {dataset}: resume with that dataset, or start "
                                     "a fresh run with another name").format(
                path=path, saved=_describe(theirs), dataset=_describe(dataset)))


def list_or_value(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def _describe(dataset: dict[str, Any]) -> str:
    shape = "x".join(str(d) for d in dataset.get("input_shape", ()))
    return tr("{name} ({kind} {shape}, {classes} classes)").format(
        name=dataset.get("name"), kind=dataset.get("kind"), shape=shape, classes=dataset.get("num_classes"))


@dataclass
class RunFolders:
    name: str                 # run name as used: may carry a -N suffix
    logdir: Path              # TensorBoard events
    checkpoint_dir: Path
    resume_from: Path | None  # the checkpoint to continue from (resume only)

    def option_for(self, folder: Path) -> str:
        """The option that set `folder`: checkpoint_dir only when it is not logdir's own checkpoints/."""
        return "checkpoint_dir" if folder == self.checkpoint_dir != self.logdir / "checkpoints" else "logdir"

    def create(self) -> None:
        """Make the folders and drop .part leftovers of a process that died while writing.

        A folder that cannot be made (no such parent, read-only, a full disk) is one ConfigError
        naming it and its option, and the folders made before the failure are removed again.
        """
        made: list[Path] = []
        folder = self.logdir
        try:
            for folder in (self.logdir, self.checkpoint_dir):
                _make_folder(folder, made)
            for part in self.checkpoint_dir.glob("*.part"):
                part.unlink(missing_ok=True)
        except OSError as err:
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    path.rmdir()
            raise ConfigError(Message.of(tr("Cannot create the run folder {folder}: {reason}. Choose another {option}"),
                                         folder=folder, reason=err.strerror or err,
                                         option=Option(self.option_for(folder)))) from None


def _make_folder(folder: Path, made: list[Path]) -> None:
    """mkdir -p that records, in `made`, each folder it created (and not those that were there)."""
    missing = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():  # a file in the way
                raise
            continue  # made meanwhile by someone else: not ours to remove
        made.append(path)


def run_folders(*, name: str | None, default_name: str, logdir: str | None, checkpoint_dir: str | None,
                resume: bool) -> RunFolders:
    """Decide where a run writes (and what it resumes from) without writing anything."""
    base = name or safe_name(default_name)
    if logdir is not None or checkpoint_dir is not None:
        log = Path(logdir).expanduser() if logdir is not None else RUNS_ROOT / base
        ckpt = Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else log / "checkpoints"
        existing = checkpoint_files(ckpt)
        if resume:
            if not existing:
                raise CheckpointError(Message.of(tr("No checkpoint to resume in {folder}: train once without {resume} "
                                                    "first"), folder=ckpt, resume=RESUMING))
            return RunFolders(base, log, ckpt, existing[-1])
        if existing:
            raise ConfigError(Message.of(tr("{folder} already holds checkpoints of an earlier run: pass {resume} to "
                                            "continue it, or choose another {checkpoint_dir}"),
                                         folder=ckpt, resume=RESUMING, checkpoint_dir=Option("checkpoint_dir")))
        return RunFolders(base, log, ckpt, None)

    candidates = _numbered_runs(base)
    if resume:
        newest = [(files[-1].stat().st_mtime, run, files[-1])
                  for run in candidates if (files := checkpoint_files(RUNS_ROOT / run / "checkpoints"))]
        if not newest:
            raise CheckpointError(Message.of(tr("No checkpoint to resume in {folder} (nor in {run}-N): train once "
                                                "without {resume} first"),
                                             folder=RUNS_ROOT / base / "checkpoints", run=RUNS_ROOT / base,
                                             resume=RESUMING))
        _, run, path = max(newest)
        return RunFolders(run, RUNS_ROOT / run, RUNS_ROOT / run / "checkpoints", path)
    run, number = base, 1
    while _holds_files(RUNS_ROOT / run):
        number += 1
        run = f"{base}-{number}"
    return RunFolders(run, RUNS_ROOT / run, RUNS_ROOT / run / "checkpoints", None)


def safe_name(text: str) -> str:
    """A folder-safe run name: path separators and odd characters become '_', at most 100 characters
    (a long data path must not make a name the file system refuses)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:100].rstrip("._") or "run"


def _numbered_runs(base: str) -> list[str]:
    runs = [base]
    if RUNS_ROOT.is_dir():
        pattern = re.compile(re.escape(base) + r"-(\d+)")
        runs += [p.name for p in RUNS_ROOT.iterdir() if pattern.fullmatch(p.name) and p.is_dir()]
    return runs


def _holds_files(folder: Path) -> bool:
    return folder.exists() and any(folder.iterdir())
