"""Everything a run needs, decided before the first byte is written: config, device, data, model, folders.

`make_plan` raises ConfigError/DeviceError/DataError/CheckpointError for anything wrong and
creates no file or folder (a dataset download may fill the data folder, nothing else), so a typo
in `%train` leaves the working folder as it was.

Order: the config is resolved early (a bad value fails before anything is read); the run folders
and, on resume, the checkpoint are read; then the config is resolved for the data's kind
(explicit options > the checkpoint's config > template defaults > global defaults), the
device and precision once, the data is loaded once and the memory estimate checked once.
On resume the checkpoint's own config rules: an option that changes what the run learns (lr,
batch size, seed, ...) and differs from it is an error; options that change only where or how it
runs (device, precision, checkpoint_every, ...) may differ; `epochs` may grow once the run has
finished, which adds a schedule phase (see `phases`). The data must be the data it was trained on
(fingerprint.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError, DataError, Message, Option
from ..locale import tr, trn
from . import memory
from .checkpoint import RESUMING, RunFolders, check_fits, load_checkpoint, run_folders, safe_name
from .config import RESUMABLE_CHANGES, TrainConfig
from .data.dataset import Dataset
from .device import autocast_dtype, resolve_device
from .fingerprint import describe_change, fingerprint

DEFAULT_DATASET = "digits"
# Datasets where a horizontal flip changes what an example is (a mirrored 3 is no 3): a template's
# default flip augmentation is dropped for them (an explicit augment= is respected).
FLIP_UNSAFE = frozenset({"digits", "mnist"})
SMALL_SPLIT = 20  # a validation or test split smaller than this gives noisy accuracies: say so


@dataclass
class Plan:
    config: TrainConfig                  # resolved and validated
    template: str                        # template name (or the class name of a model passed in)
    convolutional: bool                  # channels_last pays off
    dataset: Dataset                     # tensors on the CPU
    model: nn.Module                     # built with the seed (resume: checkpoint weights), on the CPU
    device: torch.device
    autocast: torch.dtype | None         # None = fp32
    folders: RunFolders
    resume_state: dict[str, Any] | None  # the loaded checkpoint when resuming
    wall_start: float                    # perf_counter() when train() was called
    explicit: dict[str, Any] = field(default_factory=dict)   # the options the caller set
    fingerprint: dict[str, Any] = field(default_factory=dict)  # of the data (fingerprint.py)
    # learning-rate schedule phases: a run is one phase; each `resume` with more epochs adds one
    phases: list[dict[str, int]] = field(default_factory=list)  # [{"start_epoch": E0, "epochs": n}, ...]
    notes: list[str] = field(default_factory=list)  # told to the user before training starts
    asked_name: str = ""                 # the run name before a -N suffix made it unique
    memory: memory.MemoryEstimate | None = None

    @property
    def dataset_info(self) -> dict[str, Any]:
        return dataset_info(self.dataset)

    @property
    def finished(self) -> bool:
        """A resume of a run that has done all its epochs: there is nothing to train."""
        state = self.resume_state
        return state is not None and int(state["epoch"]) >= self.config.epochs and int(state["step"]) == 0

    @property
    def phase(self) -> dict[str, int]:
        """The schedule phase the run continues in."""
        return self.phases[-1] if self.phases else {"start_epoch": 0, "epochs": self.config.epochs}


def dataset_info(dataset: Dataset) -> dict[str, Any]:
    """What a checkpoint records about its data, to refuse resuming on other data."""
    return {"name": dataset.name, "kind": dataset.kind, "input_shape": list(dataset.input_shape),
            "num_classes": int(dataset.num_classes), "train_size": int(len(dataset.y_train))}


def make_plan(config: TrainConfig, *, dataset: Dataset | None = None, arrays: tuple | None = None,
              model: nn.Module | None = None, folders: RunFolders | None = None,
              wall_start: float | None = None) -> Plan:
    """Resolve, validate and load; see the module docstring. `folders` given: use them as they are."""
    wall_start = time.perf_counter() if wall_start is None else wall_start
    template_name, defaults, convolutional, build = _template(config, model)
    explicit = config.explicit()
    early = config.resolved(defaults)  # bad values fail here, before any data or checkpoint is read
    if early.distributed and model is not None:
        raise ConfigError(tr("devices/nnodes > 1 train a template by name; a model object cannot be sent to "
                             "the worker processes"))
    default_name = f"{template_name}-{source_label(config, dataset)}"
    if folders is None:
        folders = run_folders(name=early.name, default_name=default_name,
                              logdir=early.logdir, checkpoint_dir=early.checkpoint_dir, resume=early.resume)
    notes: list[str] = []
    state, phases = None, [{"start_epoch": 0, "epochs": early.epochs}]
    asked = config
    if early.resume:
        if folders.resume_from is None:
            raise CheckpointError(Message.of(tr("No checkpoint to resume in {folder}: train once without {resume} "
                                                "first"), folder=folders.checkpoint_dir, resume=RESUMING))
        state = load_checkpoint(folders.resume_from)
        check_fits(state, folders.resume_from, template=template_name)
        asked, phases = _resumed_config(state, explicit, folders, notes)

    # data options (split, seed, target) are settled: a fresh run's are the early resolution's
    data = _load(early if asked is config else asked.resolved(defaults), dataset, arrays)
    if data.name in FLIP_UNSAFE and "augment" not in asked.explicit() and "flip" in str(defaults.get("augment", "")):
        defaults["augment"] = ",".join(p for p in str(defaults["augment"]).split(",") if p.strip() != "flip")
    resolved = asked.resolved(defaults, data_kind=data.kind)   # the one resolution
    resolved.model, resolved.dataset = template_name, resolved.dataset or data.name
    notes.extend(data.notes)  # what the loader decided: resized images, date and text columns
    _check_data(data, notes)
    prints = fingerprint(data)
    if state is not None:
        check_fits(state, folders.resume_from, template=template_name, dataset=dataset_info(data))
        change = describe_change(state.get("fingerprint"), prints)
        if change:
            raise CheckpointError(Message.of(tr("{path} was trained on other data: {change}. Resume with the data it "
                                                "was trained on, or start a fresh run without {resume}"),
                                             path=folders.resume_from, change=change, resume=RESUMING))
    device = resolve_device(resolved.device)
    dtype = autocast_dtype(resolved.precision, device)

    # a template is estimated from its skeleton: a run too big to fit never allocates its weights
    sized = model if model is not None else memory.skeleton(build, data.spec)
    estimate = memory.estimate(sized, data, resolved.batch_size, resolved.optimizer, device)
    memory.check(estimate)
    if model is None:
        torch.manual_seed(resolved.seed)            # same seed, same initial weights
        model = build(data.spec)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, ValueError) as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(Message.of(tr("{path} does not fit model {model!r} on {dataset} ({reason}): start "
                                                "a fresh run without {resume}"),
                                             path=folders.resume_from, model=template_name, dataset=data.name,
                                             reason=first[:200], resume=RESUMING)) from None
    check_writable(folders)
    asked_name = early.name or safe_name(default_name)
    if not resolved.resume and folders.name != asked_name:
        notes.append(tr("runs/{name} already holds a run: this one writes to {logdir}").format(
            name=asked_name, logdir=folders.logdir))
    resolved.name = folders.name
    resolved.logdir, resolved.checkpoint_dir = str(folders.logdir), str(folders.checkpoint_dir)
    return Plan(resolved, template_name, convolutional, data, model, device, dtype, folders, state, wall_start,
                explicit=explicit, fingerprint=prints, phases=phases, notes=notes, memory=estimate,
                asked_name=asked_name)


def source_label(config: TrainConfig, dataset: Dataset | None = None) -> str:
    """The data's part of a default run name: a registered name as it is, a file by its full name
    (`digits.npz` must not share the built-in digits' runs), arrays as "arrays"."""
    if dataset is not None:
        return dataset.name
    text = str(config.dataset or DEFAULT_DATASET)
    from .data import _registered

    registered = _registered(text)
    if registered is not None:
        return registered
    path = Path(text).expanduser()
    return path.name or path.resolve().name


def _check_data(data: Dataset, notes: list[str]) -> None:
    if data.num_classes < 2:
        raise DataError(tr("{dataset} has a single class: a classifier needs at least two labels").format(dataset=data.name))
    for split in ("val", "test"):
        labels = getattr(data, f"y_{split}")
        if labels is not None and 0 < len(labels) < SMALL_SPLIT:
            notes.append((tr("the validation split has only {n} examples: its accuracy is a rough guide") if split == "val"
                          else tr("the test split has only {n} examples: its accuracy is a rough guide")).format(
                n=len(labels)))


def check_writable(folders: RunFolders) -> None:
    """ConfigError naming the folder when a run folder cannot be made (a file in the way, no permission).

    A check before any data is read; RunFolders.create() catches what only making the folder shows
    (/proc, a full disk)."""
    for folder in (folders.logdir, folders.checkpoint_dir):
        probe = Path(folder)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        option = folders.option_for(folder)
        if probe.exists() and not probe.is_dir():
            raise ConfigError(Message.of(tr("Cannot create the run folder {folder}: {probe} is a file. Choose another "
                                            "{option}"), folder=folder, probe=probe, option=Option(option)))
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ConfigError(Message.of(tr("Cannot create the run folder {folder}: cannot write in {probe} (read-only "
                                            "or no permission). Choose another {option}"),
                                         folder=folder, probe=probe, option=Option(option)))


def _template(config: TrainConfig, model: nn.Module | None):
    """(name, defaults, convolutional, build) for a template name or a model object."""
    if model is not None:
        convolutional = any(isinstance(m, (nn.Conv2d, nn.Conv3d)) for m in model.modules())
        return config.model or type(model).__name__, {}, convolutional, None
    if not isinstance(config.model, str) or not config.model.strip():
        raise ConfigError(tr("train() needs a model template name, e.g. train('cnn', 'digits') (see %train --list)"))
    from .models import build_model, get_template

    template = get_template(config.model.strip())
    return template.name, dict(template.defaults), template.convolutional, \
        (lambda spec: build_model(template.name, spec))


def _load(config: TrainConfig, dataset: Dataset | None, arrays: tuple | None) -> Dataset:
    from . import preprocess
    from .data import from_arrays, load_dataset
    from .data.split import carve_validation

    if dataset is not None:
        if dataset.preprocessing is None:  # built by hand: describe it, so predict/save still work
            dataset = dataset.replace(preprocessing=preprocess.describe(dataset))
        return carve_validation(dataset, config.val_split, config.seed)
    options = {k: v for k in ("drop", "image_size", "text") if (v := getattr(config, k)) is not None}
    natural = _natural_image_size(config.model)
    if arrays is not None:
        if len(arrays) != 2:
            raise ConfigError(Message.of(tr("{data} takes a pair (X, y)"), data=Option("data")))
        return from_arrays(arrays[0], arrays[1], name="arrays", val_split=config.val_split, seed=config.seed,
                           natural_image_size=natural, **options)
    return load_dataset(config.dataset or DEFAULT_DATASET, data_dir=config.data_dir, target=config.target,
                        val_split=config.val_split, seed=config.seed, natural_image_size=natural, **options)


def _natural_image_size(model: Any) -> int | None:
    """The template's natural image side (images larger than it are resized), None for your own model."""
    if not isinstance(model, str):
        return None
    from .models import REGISTRY, get_template

    return get_template(model).image_size if model.strip().lower() in REGISTRY else None


def _resumed_config(state: dict[str, Any], explicit: dict[str, Any], folders: RunFolders,
                    notes: list[str]) -> tuple[TrainConfig, list[dict[str, int]]]:
    """The checkpoint's config with the explicit options that may change on resume, and the schedule
    phases (a finished run asked for more epochs starts a new phase from its last weights)."""
    known = {f.name for f in fields(TrainConfig)}
    saved = TrainConfig.from_dict({k: v for k, v in state["config"].items() if k in known})
    asked = TrainConfig.from_dict({**saved.to_dict(), **explicit})
    asked.validate()
    saved_values = saved.to_dict()
    phases = [dict(p) for p in state.get("phases") or [{"start_epoch": 0, "epochs": saved.epochs}]]
    for key, value in asked.to_dict().items():
        if key in RESUMABLE_CHANGES or key in ("model", "dataset") or key not in explicit:
            continue
        if value == saved_values[key]:
            continue
        if key == "epochs" and value > saved.epochs:
            if int(state["epoch"]) < saved.epochs or int(state["step"]):
                raise ConfigError(Message.of(
                    tr("The run in {folder} is at epoch {epoch} of {epochs}: resume it without {option} to finish it "
                       "first, then resume with {more} to add epochs"),
                    folder=folders.checkpoint_dir, epoch=int(state["epoch"]) + 1, epochs=saved.epochs,
                    option=Option("epochs"), more=Option("epochs", value)))
            phases.append({"start_epoch": saved.epochs, "epochs": value - saved.epochs})
            more = value - saved.epochs
            notes.append(trn("continuing the finished {epochs}-epoch run for {more} more epoch (a new learning-rate "
                             "schedule from its last weights)",
                             "continuing the finished {epochs}-epoch run for {more} more epochs (a new learning-rate "
                             "schedule from its last weights)", more).format(epochs=saved.epochs, more=more))
            continue
        raise ConfigError(Message.of(tr("The checkpoint in {folder} was trained with {saved}, not {value!r}: drop that "
                                        "option to resume, or start a fresh run"),
                                     folder=folders.checkpoint_dir, saved=Option(key, saved_values[key]), value=value))
    asked.resume = True
    return asked, phases
