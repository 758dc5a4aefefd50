"""The saved-model file: `TrainResult.save(path)` writes it, `load(path_or_run_name)` reads it back.

One file holds everything needed to use the model in another process, on a CPU or a GPU: the
weights, the template name and the DataSpec it was built for, the resolved config, the
preprocessing of raw inputs (train/preprocess/), the original class labels, the final metrics
and the history. It is written whole or not at all (NAME.part, fsync, rename) and holds only
tensors and plain containers, so it is read with `torch.load(weights_only=True)`: loading a file
cannot run code, whoever wrote it.

    {"format": "colabmagic.train/model", "version": 1, "template": "cnn",
     "spec": {"kind", "input_shape", "num_classes", "vocab_size"}, "config": {...}, "model": state_dict,
     "preprocessing": {...} | None, "classes": [...], "metrics": {...}, "history": [...],
     "run": {"name", "device", "precision", "train_seconds", ...}}

`load` also takes a run name (runs/NAME) or a run folder: its model.pt (written at the end of a
finished run by `save_result`), or the newest checkpoint when that is newer or there is no model.pt.
A checkpoint carries the same data keys when the loop adds `checkpoint_fields(dataset)`; for an
older one they are rebuilt by reading the dataset again (not possible for notebook arrays).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..files import write_atomically
from ..errors import CheckpointError, ColabMagicError
from ..locale import tr
from .result import TrainResult

FORMAT = "colabmagic.train/model"
VERSION = 1
MODEL_FILE = "model.pt"
LOAD_NEEDS = ("torch", "numpy")  # what loading a model imports (the `train` extra; training adds tensorboard)
RUN_KEYS = ("name", "device", "precision", "train_seconds", "wall_seconds", "samples_per_second",
            "peak_memory_bytes", "peak_rss_bytes", "epochs_run", "interrupted", "checkpoint_path", "logdir")


def spec_dict(spec: Any) -> dict[str, Any] | None:
    """A DataSpec (or its dict) as plain data."""
    if spec is None:
        return None
    get = spec.get if isinstance(spec, dict) else (lambda k: getattr(spec, k))
    vocab = get("vocab_size")
    return {"kind": str(get("kind")), "input_shape": [int(s) for s in get("input_shape")],
            "num_classes": int(get("num_classes")), "vocab_size": None if vocab is None else int(vocab)}


def checkpoint_fields(dataset) -> dict[str, Any]:
    """What a checkpoint needs so `load` can use it like a model file: add these keys to its state."""
    return {"classes": list(dataset.classes), "preprocessing": dataset.preprocessing,
            "spec": spec_dict(dataset.spec)}


def save(result: TrainResult, path: str | os.PathLike) -> Path:
    """Write `result` as one model file at `path` (a folder: path/model.pt); returns the file's path."""
    import torch

    path = Path(path).expanduser()
    if path.is_dir():
        path = path / MODEL_FILE
    template = result.template or str(result.config.get("model") or "")
    spec = spec_dict(result.spec)
    if spec is None:
        raise CheckpointError(tr("this result does not say what data its model was built for (no spec): "
                                 "save a result returned by train()"))
    weights = result.model.state_dict()
    state = {
        "format": FORMAT, "version": VERSION, "template": template, "spec": spec,
        "config": dict(result.config), "model": _on_cpu(weights),
        "preprocessing": result.preprocessing, "classes": list(result.classes),
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "history": [dict(row) for row in result.history],
        "run": {k: getattr(result, k) for k in RUN_KEYS},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, lambda file: torch.save(state, file))
    except OSError as err:
        raise CheckpointError(tr("Cannot write the model file {path}: {reason}").format(
            path=path, reason=err.strerror or err)) from None


def save_result(result: TrainResult, folder: str | os.PathLike) -> Path:
    """The end of a finished run: its model file in the run folder (folder/model.pt)."""
    return save(result, Path(folder) / MODEL_FILE)


def _on_cpu(weights):
    copy = type(weights)((k, v.detach().to("cpu", copy=True)) for k, v in weights.items())
    if hasattr(weights, "_metadata"):  # per-module versions, read by load_state_dict
        copy._metadata = weights._metadata
    return copy


# --- loading ----------------------------------------------------------------------------------

def load(source: str | os.PathLike, device: str | None = None) -> TrainResult:
    """A TrainResult (.model, .predict, .predict_proba, .metrics, .classes) from a model file, a
    checkpoint, a run folder or a run name (runs/NAME). `device`: auto (default), cpu, cuda, ..."""
    require_train_extra(LOAD_NEEDS)
    from .device import resolve_device

    target = resolve_device(device or "auto")  # a bad device fails before any file is read
    path = locate(source)
    state = _read(path)
    if state.get("format") == FORMAT:
        if state.get("version") != VERSION:
            raise CheckpointError(tr("{path} is model file version {version!r}; this colabmagic reads version "
                                     "{supported}").format(path=path, version=state.get("version"), supported=VERSION))
        return _result(state, path, target)
    from .checkpoint import FORMAT as CHECKPOINT, load_checkpoint

    if state.get("format") == CHECKPOINT:
        return _result(_from_checkpoint(load_checkpoint(path), path), path, target)
    raise CheckpointError(tr("{path} is not a colabmagic model file or training checkpoint").format(path=path))


def require_train_extra(modules: tuple[str, ...]) -> None:
    """MissingExtraError with the exact pip line for the first of `modules` that is not installed,
    not the bare ModuleNotFoundError of an import deep inside."""
    from ..errors import require

    for module_name in modules:
        require(module_name, "train")


def locate(source: str | os.PathLike) -> Path:
    """The file to load for a path or a run name (see the module docstring)."""
    from .checkpoint import RUNS_ROOT, checkpoint_files

    given = Path(source).expanduser()
    if given.is_file():
        return given
    folders = [given] if given.is_dir() else []
    if isinstance(source, str) and os.sep not in source and (RUNS_ROOT / source).is_dir():
        folders.append(RUNS_ROOT / source)
    for folder in folders:
        model = folder / MODEL_FILE
        checkpoints = checkpoint_files(folder / "checkpoints") or checkpoint_files(folder)
        newest = checkpoints[-1] if checkpoints else None
        if model.is_file() and (newest is None or model.stat().st_mtime >= newest.stat().st_mtime):
            return model
        if newest is not None:
            return newest
    if folders:
        raise CheckpointError(tr("{folder} holds no {model_file} and no checkpoint: train it first").format(
            folder=folders[-1], model_file=MODEL_FILE))
    runs = sorted(p.name for p in RUNS_ROOT.iterdir() if p.is_dir()) if RUNS_ROOT.is_dir() else []
    if runs:
        listed = ", ".join(runs[:10]) + (", ..." if len(runs) > 10 else "")
        raise CheckpointError(tr("No model file, run folder or run named {source!r} (runs: {runs})").format(
            source=str(source), runs=listed))
    raise CheckpointError(tr("No model file, run folder or run named {source!r}").format(source=str(source)))


def _read(path: Path) -> dict[str, Any]:
    from .checkpoint import read_plain_data

    state = read_plain_data(path, missing=tr("{path} does not exist"), unreadable=tr(
        "{path} is corrupt, not a PyTorch file, or holds objects that are not plain data ({reason}): "
        "it cannot be loaded safely"))
    if not isinstance(state, dict):
        raise CheckpointError(tr("{path} is not a colabmagic model file").format(path=path))
    return state


def _from_checkpoint(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """A checkpoint's state as a model file's (rebuilding the data keys an older checkpoint lacks)."""
    history = [dict(row) for row in state.get("history", [])]
    final = history[-1] if history else {}
    data = {k: state[k] for k in ("classes", "preprocessing", "spec") if k in state}
    if "spec" not in data:
        data = _rebuild(state, path)
    return {
        "template": state["template"], "spec": data["spec"], "config": dict(state["config"]),
        "model": state["model"], "preprocessing": data.get("preprocessing"), "classes": data.get("classes") or [],
        "metrics": {k: v for k, v in final.items() if k not in ("epoch", "lr", "epoch_seconds")},
        "history": history,
        "run": {"name": state["config"].get("name") or path.parent.parent.name,
                "train_seconds": float(state.get("train_seconds", 0.0)), "epochs_run": len(history),
                "interrupted": int(state.get("step", 0)) > 0 or len(history) < int(state["config"].get("epochs") or 0),
                "checkpoint_path": str(path)},
    }


def _rebuild(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """classes/preprocessing/spec of a checkpoint without them, by reading its dataset again."""
    info, config = state["dataset"], state["config"]
    try:
        if config.get("dataset") in (None, "arrays"):
            raise CheckpointError(tr("it was trained on notebook arrays"))
        from .data import load_dataset
        from .plan import _natural_image_size

        options = {k: config[k] for k in ("drop", "image_size", "text") if config.get(k) is not None}
        dataset = load_dataset(config["dataset"], data_dir=config.get("data_dir"), target=config.get("target"),
                               natural_image_size=_natural_image_size(state["template"]), **options)
        if list(dataset.input_shape) != list(info["input_shape"]):
            raise CheckpointError(tr("its dataset has changed shape"))
        return checkpoint_fields(dataset)
    except (ColabMagicError, OSError) as err:
        warnings.warn(tr("{path} does not record its preprocessing and its dataset cannot be read again ({reason}): "
                         "predict takes inputs as the model does, and returns class indices").format(
            path=path, reason=err), UserWarning, stacklevel=3)
    vocab = next((v.shape[0] for k, v in state["model"].items() if k.endswith("embed.weight")), None)
    return {"classes": list(range(int(info["num_classes"]))), "preprocessing": None,
            "spec": {"kind": info["kind"], "input_shape": list(info["input_shape"]),
                     "num_classes": int(info["num_classes"]), "vocab_size": vocab}}


def _result(state: dict[str, Any], path: Path, device) -> TrainResult:
    from .data.dataset import DataSpec
    from .device import device_name
    from .models import REGISTRY, build_model

    template, spec = state.get("template") or "", state.get("spec")
    if template.strip().lower() not in REGISTRY:
        raise CheckpointError(tr("{path} holds the weights of your own model ({template}): build it and load them "
                                 "with model.load_state_dict(torch.load(path, weights_only=True)['model'])").format(
            path=path, template=template or tr("no template")))
    data_spec = DataSpec(spec["kind"], tuple(spec["input_shape"]), spec["num_classes"], spec.get("vocab_size"))
    model = build_model(template, data_spec)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(tr("{path}: the weights do not fit template {template!r} ({reason})").format(
            path=path, template=template, reason=first[:200])) from None
    model = model.to(device).eval()
    run = dict(state.get("run") or {})
    history = [dict(row) for row in state.get("history", [])]
    return TrainResult(
        model=model, history=history, metrics=dict(state.get("metrics") or {}),
        train_seconds=float(run.get("train_seconds") or 0.0), wall_seconds=float(run.get("wall_seconds") or 0.0),
        samples_per_second=float(run.get("samples_per_second") or 0.0),
        peak_memory_bytes=int(run.get("peak_memory_bytes") or 0), peak_rss_bytes=int(run.get("peak_rss_bytes") or 0),
        checkpoint_path=run.get("checkpoint_path"), logdir=run.get("logdir"), config=dict(state.get("config") or {}),
        device=device_name(device), epochs_run=int(run.get("epochs_run") or len(history)),
        precision=str(run.get("precision") or "fp32"), interrupted=bool(run.get("interrupted")),
        name=str(run.get("name") or ""), extra={"loaded_from": str(path)},
        classes=list(state.get("classes") or []), preprocessing=state.get("preprocessing"), spec=data_spec,
        template=template)
