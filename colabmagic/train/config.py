"""Every hyperparameter of a `%train` run in one dataclass, and the rules that fill and check it.

A field left None takes the model template's `defaults`, then `GLOBAL_DEFAULTS`. `resolved()`
returns the filled-in copy and raises ConfigError on the first bad value; it touches no disk, so
a typo never leaves a half-made run folder behind.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import ConfigError, Message, Option, shown
from ..locale import mark, tr

OPTIMIZERS = ("sgd", "adamw")
SCHEDULERS = ("onecycle", "cosine", "none")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AUGMENTS = mark("flip, crop, cropN (translate up to N px)")


@dataclass
class TrainConfig:
    # what to train
    model: str | None = None               # template name: mlp, cnn, resnet9, resnet18, lstm, transformer
    dataset: str | None = None             # dataset name or path (folder, .csv, .npz); default digits
    # optimisation
    epochs: int | None = None              # passes over the training split
    batch_size: int | None = None          # examples per optimizer step, all processes together
    lr: float | None = None                # peak learning rate (onecycle's max_lr)
    optimizer: str | None = None           # sgd (nesterov when momentum > 0) or adamw
    momentum: float | None = None          # sgd momentum; adamw's beta1
    scheduler: str | None = None           # onecycle, cosine or none; stepped once per batch
    weight_decay: float | None = None      # per step, on weights only (not biases or norm scales)
    label_smoothing: float | None = None   # cross-entropy target smoothing, 0..1 (training loss only)
    augment: str | None = None             # comma list: flip, crop, cropN (translate up to N px); "" = none
    # execution
    precision: str | None = None           # auto (bf16 autocast on a CUDA GPU that has it, else fp32), bf16, fp16, fp32
    compile: bool | None = None            # wrap the model in torch.compile
    device: str | None = None              # auto, cpu, cuda, cuda:N or mps
    seed: int | None = None                # weights, batch order, augmentation: same seed, same run on the CPU
    # data
    val_split: float | None = None         # fraction of the training split held out for validation, [0, 1)
    target: str | None = None              # CSV only: the label column
    data_dir: str | None = None            # where named datasets are kept (default $COLABMAGIC_DATA)
    drop: str | None = None                # tables (CSV, DataFrame): comma list of columns to leave out
    image_size: str | None = None          # images: "N" or "HxW" pixels to resize to (default: the template's natural size at most)
    text: str | None = None                # tables: the text column an lstm/transformer reads
    # files
    name: str | None = None                # run name (default MODEL-DATASET): runs/NAME
    logdir: str | None = None              # TensorBoard events (default runs/NAME)
    checkpoint_dir: str | None = None      # checkpoints (default LOGDIR/checkpoints)
    checkpoint_every: float | None = None  # minutes between mid-epoch checkpoints; 0 = only at epoch ends
    keep_checkpoints: int | None = None    # newest K checkpoints kept; 0 = keep all
    resume: bool | None = None             # continue from the newest checkpoint of this run
    # distributed (torchrun)
    devices: int | None = None             # processes per node (DDP); 1 = this process
    nnodes: int | None = None              # machines taking part
    node_rank: int | None = None           # this machine's rank, 0..nnodes-1
    rdzv_endpoint: str | None = None       # HOST:PORT of the rendezvous (node 0); needed when nnodes > 1
    threads: int | None = None             # CPU intra-op threads; 0 = auto, from the cores really free
    # reporting
    refresh_per_second: float | None = None  # progress reports per second (each is one CPU-GPU sync)

    def explicit(self) -> dict[str, Any]:
        """The fields somebody set (not None)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(tr("Unknown training option {name!r}: the options are {options}").format(
                name=unknown[0], options=", ".join(sorted(known))))
        return cls(**values)

    def resolved(self, template_defaults: dict[str, Any] | None = None, *,
                 data_kind: str | None = None) -> "TrainConfig":
        """A copy with every field filled (explicit > template default > global default), validated.

        An augmentation that comes from the template's defaults is dropped for non-image data
        (a template may serve images and tables); one the user asked for is an error there.
        """
        values = dict(GLOBAL_DEFAULTS)
        template = dict(template_defaults or {})
        template_optimizer = str(template.get("optimizer", GLOBAL_DEFAULTS["optimizer"])).lower()
        optimizer = str(self.optimizer or template_optimizer).lower()
        values.update(OPTIMIZER_DEFAULTS.get(optimizer, {}))
        if optimizer != template_optimizer:  # the template's step sizes were tuned for its own optimizer
            template = {k: v for k, v in template.items() if k not in OPTIMIZER_TUNED}
        for key, value in template.items():
            if key not in values and key not in _FREE_FIELDS:
                raise ConfigError(tr("Template default {key!r} is not a training option").format(key=key))
            values[key] = value
        explicit = self.explicit()
        values.update(explicit)
        if data_kind is not None and data_kind != "image" and "augment" not in explicit:
            values["augment"] = ""
        config = replace(self, **values)
        config.validate(data_kind=data_kind)
        return config

    def validate(self, *, data_kind: str | None = None) -> None:
        """Raise ConfigError naming the first bad field; every field must be filled."""
        self.epochs = _integer("epochs", self.epochs, minimum=1)
        self.batch_size = _integer("batch_size", self.batch_size, minimum=1)
        self.lr = _number("lr", self.lr, above=0.0)
        self.momentum = _number("momentum", self.momentum, at_least=0.0, below=1.0)
        self.weight_decay = _number("weight_decay", self.weight_decay, at_least=0.0)
        self.label_smoothing = _number("label_smoothing", self.label_smoothing, at_least=0.0, below=1.0)
        self.val_split = _number("val_split", self.val_split, at_least=0.0, below=1.0)
        self.checkpoint_every = _number("checkpoint_every", self.checkpoint_every, at_least=0.0)
        self.keep_checkpoints = _integer("keep_checkpoints", self.keep_checkpoints, minimum=0)
        self.refresh_per_second = _number("refresh_per_second", self.refresh_per_second, above=0.0)
        self.seed = _integer("seed", self.seed, minimum=0)
        self.devices = _integer("devices", self.devices, minimum=1)
        self.nnodes = _integer("nnodes", self.nnodes, minimum=1)
        self.node_rank = _integer("node_rank", self.node_rank, minimum=0)
        self.optimizer = _choice("optimizer", self.optimizer, OPTIMIZERS)
        self.scheduler = _choice("scheduler", self.scheduler, SCHEDULERS)
        self.precision = _choice("precision", self.precision, PRECISIONS)
        self.device = str(self.device).strip().lower()
        self.augment = ",".join(f"crop{n}" if n else kind
                                for kind, n in parse_augment(self.augment))
        if self.augment and data_kind is not None and data_kind != "image":
            raise ConfigError(Message.of(tr("{augment} works on images; this dataset is {kind}: drop the augment option"),
                                         augment=Option("augment", self.augment), kind=data_kind))
        if self.node_rank >= self.nnodes:
            raise ConfigError(tr("node_rank must be below nnodes ({nnodes}), got {node_rank}").format(
                nnodes=self.nnodes, node_rank=self.node_rank), option="node_rank")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ConfigError(Message.of(tr("Training on several nodes needs {rdzv_endpoint} of node 0"),
                                         rdzv_endpoint=Option("rdzv_endpoint", "HOST:PORT", literal=True)))
        if self.rdzv_endpoint and not re.fullmatch(r"[^\s:]+:\d{1,5}", str(self.rdzv_endpoint)):
            raise ConfigError(tr("rdzv_endpoint must be HOST:PORT, got {value!r}").format(value=self.rdzv_endpoint),
                              option="rdzv_endpoint")
        if self.name is not None and not _RUN_NAME.fullmatch(str(self.name)):
            raise ConfigError(tr("Run name {name!r} must start with a letter, digit or '_' and hold only letters, digits, "
                                 "'.', '_' or '-', at most 100 (it becomes a folder in runs/)").format(
                name=shown(self.name, 60)), option="name")
        self.threads = _integer("threads", self.threads, minimum=0)
        for flag in ("compile", "resume"):
            setattr(self, flag, bool(getattr(self, flag)))

    @property
    def distributed(self) -> bool:
        return (self.devices or 1) > 1 or (self.nnodes or 1) > 1


# Used when neither the user nor the template says otherwise.
GLOBAL_DEFAULTS: dict[str, Any] = dict(
    epochs=10, batch_size=128, lr=0.05, optimizer="sgd", momentum=0.9, scheduler="onecycle",
    weight_decay=5e-4, label_smoothing=0.0, augment="", precision="auto", compile=False,
    device="auto", seed=0, val_split=0.0, checkpoint_every=10.0, keep_checkpoints=3, resume=False,
    devices=1, nnodes=1, node_rank=0, threads=0, refresh_per_second=10.0,
)
# adamw wants a far smaller step and a larger decay than sgd
OPTIMIZER_DEFAULTS: dict[str, dict[str, Any]] = {"adamw": dict(lr=1e-3, weight_decay=0.05)}

OPTIMIZER_TUNED = frozenset({"lr", "momentum", "weight_decay"})
# fields without a global default that a template may still set
_FREE_FIELDS = frozenset({"target", "data_dir", "name", "logdir", "checkpoint_dir", "rdzv_endpoint"})

# Fields that may change between a run and its --resume: where and how it runs, not what it learns.
RESUMABLE_CHANGES = frozenset({
    "precision", "compile", "device", "data_dir", "name", "logdir", "checkpoint_dir", "checkpoint_every",
    "keep_checkpoints", "resume", "devices", "nnodes", "node_rank", "rdzv_endpoint", "threads",
    "refresh_per_second",
})

# a folder name inside runs/: never "." or "..", which would write beside or over the user's files
_RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


def parse_augment(spec: str | None) -> list[tuple[str, int]]:
    """"flip,crop4" -> [("flip", 0), ("crop", 4)]; crop without N is ("crop", 0) = size-based default."""
    items = []
    for part in str(spec or "").replace(" ", "").lower().split(","):
        if part in ("", "none"):
            continue
        match = re.fullmatch(r"(flip|crop)(\d*)", part)
        if not match or (match.group(1) == "flip" and match.group(2)):
            raise ConfigError(tr("Unknown augmentation {part!r}: use {choices}, comma-separated").format(
                part=part, choices=tr(AUGMENTS)), option="augment")
        kind, n = match.group(1), int(match.group(2) or 0)
        if kind == "crop" and match.group(2) and n == 0:
            raise ConfigError(tr("crop0 translates nothing: use crop, cropN with N >= 1, or drop it"), option="augment")
        if any(k == kind for k, _ in items):
            raise ConfigError(tr("augment lists {kind} twice").format(kind=kind), option="augment")
        items.append((kind, n))
    return items


def _integer(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ConfigError(tr("{name} must be a whole number, got {value!r}").format(name=name, value=value), option=name)
    if value < minimum:
        raise ConfigError(tr("{name} must be at least {minimum}, got {value!r}").format(name=name, minimum=minimum, value=value),
                          option=name)
    return int(value)


def _number(name: str, value: Any, *, above: float | None = None, at_least: float | None = None,
            below: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(tr("{name} must be a number, got {value!r}").format(name=name, value=value), option=name)
    if above is not None and not value > above:
        raise ConfigError(tr("{name} must be greater than {above:g}, got {value!r}").format(name=name, above=above, value=value),
                          option=name)
    if at_least is not None and value < at_least:
        raise ConfigError(tr("{name} must be at least {at_least:g}, got {value!r}").format(
            name=name, at_least=at_least, value=value), option=name)
    if below is not None and not value < below:
        raise ConfigError(tr("{name} must be below {below:g}, got {value!r}").format(name=name, below=below, value=value),
                          option=name)
    return float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(tr("Unknown {name} {value!r}: use one of {choices}").format(
            name=name, value=value, choices=", ".join(choices)), option=name)
    return text
