"""`%train`'s engine as a plain function:

    from colabmagic.train import train
    result = train("cnn", "digits", epochs=5)        # TrainResult: model, history, metrics, timings
    result = train("mlp", data=(X, y), val_split=0.1)
    result = train("cnn", "digits", resume=True)      # continue from the newest checkpoint

Options are the fields of TrainConfig (config.py lists each with its unit). Every run writes
TensorBoard scalars to runs/NAME/ and checkpoints to runs/NAME/checkpoints/ (checkpoint.py says how
names are chosen). Importing this package is cheap: torch loads when train() is called.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

from .callbacks import Callback, Progress, RunInfo
from .config import TrainConfig
from .result import TrainResult
from .saved import LOAD_NEEDS, require_train_extra
from .saved import load  # a model file, checkpoint or run name back as a TrainResult (torch loads on call)

if TYPE_CHECKING:
    from torch import nn

    from .data.dataset import Dataset

__all__ = ["Callback", "Progress", "RunInfo", "TrainConfig", "TrainResult", "list_datasets", "list_models", "load",
           "train"]


def train(model: "str | TrainConfig | nn.Module", dataset: "str | Dataset | None" = None, *,
          data: tuple[Any, Any] | None = None, callbacks: Iterable[Callback] | None = None,
          background: bool = False, **options: Any) -> TrainResult:
    """Train a model template on a dataset and return a TrainResult.

    model:     a template name (`%train --list`), a TrainConfig, or your own nn.Module
    dataset:   a dataset name, a folder/.csv/.npz path, or a Dataset (default digits);
               ignored when `data=(X, y)` gives arrays (the run's dataset is then named "arrays")
    callbacks: observers of the run (progress views, ...); the TensorBoard writer is always added
    options:   TrainConfig fields, e.g. epochs=5, lr=0.1, device="cuda", resume=True
    background: train in a process of its own that outlives this kernel; returns a BackgroundRun
               (wait(), attach(), stop()) once the run is planned (train/background/)

    Raises ConfigError, DeviceError, DataError or CheckpointError (nothing written to disk yet),
    and TrainingInterrupted after a KeyboardInterrupt (the message says how to resume).
    """
    if background:
        from .background.run import refuse_objects, start

        refuse_objects(model, dataset, data)
        return start(_config(model, dataset, None, options)[0])
    wall_start = time.perf_counter()
    require_train_extra(TRAIN_NEEDS)
    from .loop import fit
    from .plan import make_plan
    from .tensorboard_writer import TensorBoardWriter
    from .threads import start_sampling

    start_sampling()  # the set-up below is the window in which other processes' CPU use is measured

    config, module, dataset_object = _config(model, dataset, data, options)
    plan = make_plan(config, dataset=dataset_object, arrays=data, model=module, wall_start=wall_start)
    observers = [TensorBoardWriter(), *(callbacks or ())]
    if plan.config.distributed and not plan.finished:
        from .ddp.launch import launch

        result = launch(plan, observers)
    else:
        result = fit(plan, observers)
    if not result.extra.get("finished_before"):  # a finished run leaves runs/NAME/model.pt: load(NAME)
        from .saved import save_result

        save_result(result, plan.folders.logdir)
    return result


TRAIN_NEEDS = (*LOAD_NEEDS, "tensorboard")  # what every run imports (scikit-learn, Pillow: where used)


def _config(model, dataset, data, options) -> "tuple[TrainConfig, nn.Module | None, Dataset | None]":
    from ..errors import ConfigError
    from ..locale import tr

    module = dataset_object = None
    if isinstance(model, TrainConfig):
        config = TrainConfig.from_dict({**model.explicit(), **options})
    else:
        config = TrainConfig.from_dict(options)
        if isinstance(model, str):
            config.model = model
        elif _is_module(model):
            module = model
        else:
            raise ConfigError(tr("model must be a template name (see %train --list) or an nn.Module, not {kind}").format(
                kind=type(model).__name__))
    if data is not None:
        config.dataset = "arrays"
    elif dataset is not None and not isinstance(dataset, (str, bytes)) and hasattr(dataset, "x_train"):
        dataset_object = dataset
        config.dataset = dataset.name
    elif dataset is not None:
        config.dataset = str(dataset)
    return config, module, dataset_object


def _is_module(obj: Any) -> bool:
    import sys

    nn = sys.modules.get("torch.nn")
    return nn is not None and isinstance(obj, nn.Module)


def list_models() -> list[tuple[str, str]]:
    """(name, one-line summary) of every model template."""
    from .models import list_models as models

    return models()


def list_datasets() -> list[tuple[str, str]]:
    """(name, one-line summary) of every named dataset."""
    from .data import list_datasets as datasets

    return datasets()
