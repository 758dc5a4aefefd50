"""Everything a run needs, decided before the first byte is written: config, device, data, model, folders.

`make_plan` raises ConfigError/DeviceError/DataError/CheckpointError for anything wrong and
creates no file or folder (a dataset download may fill the data folder, nothing else), so a typo
in `%train` leaves the working folder as it was. On resume the checkpoint's own config rules: an
option that changes what the run learns (lr, batch size, seed, ...) and differs from it is an
error; options that change only where or how it runs (device, precision, checkpoint_every, ...)
may differ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from .checkpoint import RunFolders, check_fits, load_checkpoint, run_folders
from .config import RESUMABLE_CHANGES, TrainConfig
from .data.dataset import Dataset
from .device import autocast_dtype, resolve_device

DEFAULT_DATASET = "digits"


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

    @property
    def dataset_info(self) -> dict[str, Any]:
        return dataset_info(self.dataset)


def dataset_info(dataset: Dataset) -> dict[str, Any]:
    """What a checkpoint records about its data, to refuse resuming on other data."""
    return {"name": dataset.name, "kind": dataset.kind, "input_shape": list(dataset.input_shape),
            "num_classes": int(dataset.num_classes)}


def make_plan(config: TrainConfig, *, dataset: Dataset | None = None, arrays: tuple | None = None,
              model: nn.Module | None = None, folders: RunFolders | None = None,
              wall_start: float | None = None) -> Plan:
    """Resolve, validate and load; see the module docstring. `folders` given: use them as they are."""
    wall_start = time.perf_counter() if wall_start is None else wall_start
    template_name, defaults, convolutional, build = _template(config, model)
    explicit = config.explicit()
    early = config.resolved(defaults)               # bad values fail before any data is read
    device = resolve_device(early.device)
    autocast_dtype(early.precision, device)         # e.g. bf16 on a GPU without it
    if early.distributed and model is not None:
        raise ConfigError("devices/nnodes > 1 train a template by name; a model object cannot be sent to "
                          "the worker processes")

    data = _load(early, dataset, arrays)
    resolved = config.resolved(defaults, data_kind=data.kind)
    resolved.model, resolved.dataset = template_name, data.name
    if folders is None:
        folders = run_folders(name=resolved.name, default_name=f"{template_name}-{data.name}",
                              logdir=resolved.logdir, checkpoint_dir=resolved.checkpoint_dir,
                              resume=resolved.resume)
    state = None
    if resolved.resume:
        if folders.resume_from is None:
            raise CheckpointError(f"No checkpoint to resume in {folders.checkpoint_dir}: "
                                  "train once without resume first")
        state = load_checkpoint(folders.resume_from)
        check_fits(state, folders.resume_from, template=template_name, dataset=dataset_info(data))
        resolved = _resumed_config(state, explicit, folders)
        if (resolved.val_split, resolved.seed, resolved.target) != (early.val_split, early.seed, early.target):
            data = _load(resolved, dataset, arrays)  # the checkpoint's run held out another validation split
        check_fits(state, folders.resume_from, template=template_name, dataset=dataset_info(data))
    device = resolve_device(resolved.device)
    dtype = autocast_dtype(resolved.precision, device)

    if model is None:
        torch.manual_seed(resolved.seed)            # same seed, same initial weights
        model = build(data.spec)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, ValueError) as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{folders.resume_from} does not fit model {template_name!r} on {data.name} "
                                  f"({first[:200]}): start a fresh run without resume") from None
    resolved.name = folders.name
    resolved.logdir, resolved.checkpoint_dir = str(folders.logdir), str(folders.checkpoint_dir)
    return Plan(resolved, template_name, convolutional, data, model, device, dtype, folders, state, wall_start)


def _template(config: TrainConfig, model: nn.Module | None):
    """(name, defaults, convolutional, build) for a template name or a model object."""
    if model is not None:
        convolutional = any(isinstance(m, (nn.Conv2d, nn.Conv3d)) for m in model.modules())
        return config.model or type(model).__name__, {}, convolutional, None
    if not isinstance(config.model, str) or not config.model.strip():
        raise ConfigError("train() needs a model template name, e.g. train('cnn', 'digits') (see %train --list)")
    from .models import build_model, get_template

    template = get_template(config.model.strip())
    return template.name, dict(template.defaults), template.convolutional, \
        (lambda spec: build_model(template.name, spec))


def _load(config: TrainConfig, dataset: Dataset | None, arrays: tuple | None) -> Dataset:
    from .data import from_arrays, load_dataset
    from .data.split import carve_validation

    if dataset is not None:
        return carve_validation(dataset, config.val_split, config.seed)
    if arrays is not None:
        if len(arrays) != 2:
            raise ConfigError("data= takes a pair (X, y)")
        return from_arrays(arrays[0], arrays[1], name="arrays", val_split=config.val_split, seed=config.seed)
    return load_dataset(config.dataset or DEFAULT_DATASET, data_dir=config.data_dir, target=config.target,
                        val_split=config.val_split, seed=config.seed)


def _resumed_config(state: dict[str, Any], explicit: dict[str, Any], folders: RunFolders) -> TrainConfig:
    """The checkpoint's config with the explicit options that may change on resume."""
    known = {f.name for f in fields(TrainConfig)}
    saved = TrainConfig.from_dict({k: v for k, v in state["config"].items() if k in known})
    asked = TrainConfig.from_dict({**saved.to_dict(), **explicit})
    asked.validate()
    saved_values = saved.to_dict()
    for key, value in asked.to_dict().items():
        if key in RESUMABLE_CHANGES or key in ("model", "dataset") or key not in explicit:
            continue
        if value != saved_values[key]:
            raise ConfigError(f"The checkpoint in {folders.checkpoint_dir} was trained with {key}={saved_values[key]!r}, "
                              f"not {value!r}: drop that option to resume, or start a fresh run")
    asked.resume = True
    return asked
