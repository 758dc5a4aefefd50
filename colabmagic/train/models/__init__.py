"""Model templates for `%train`: one file each, a small config dataclass and an nn.Module.

Every template adapts to its data: `build_model(name, spec)` reads the input shape, number of
classes and vocabulary size from the DataSpec. The registry below holds only names and one-line
summaries, so `%train --list` never imports torch; a template's file loads when it is used.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

from ...errors import ConfigError, DataError
from ...locale import mark, tr
from .template import Template

if TYPE_CHECKING:
    from torch import nn

    from ..data.dataset import DataSpec

__all__ = ["Template", "build_model", "get_template", "list_models"]

# name -> one-line summary (translated where listed); the module colabmagic.train.models.<name> defines TEMPLATE
REGISTRY: dict[str, str] = {
    "mlp": mark("multilayer perceptron: 2 hidden layers of 256, for images (flattened) and tables"),
    "cnn": mark("the Colab tutorial CNN: conv-pool-conv-pool-conv, dense; with BatchNorm, for images"),
    "resnet9": mark("the fast DAWNBench/airbench CIFAR ResNet-9 (6.5 M parameters), for images"),
    "resnet18": mark("ResNet-18, CIFAR variant (3x3 stem, no max-pool, 11 M parameters), for images"),
    "lstm": mark("text classifier: embedding, bidirectional LSTM, pooled, linear"),
    "transformer": mark("text classifier: small Transformer encoder (2 layers, 4 heads), pooled, linear"),
}


def list_models() -> list[tuple[str, str]]:
    """(name, one-line summary) of every template, for `%train --list`."""
    return list(REGISTRY.items())


def get_template(name: str) -> Template:
    """The template called `name`, or ConfigError suggesting the closest name."""
    key = name.strip().lower()
    if key not in REGISTRY:
        close = difflib.get_close_matches(key, list(REGISTRY), n=1, cutoff=0.6)
        templates = ", ".join(REGISTRY)
        if close:
            raise ConfigError(tr("Unknown model template {name!r} - did you mean {close!r}? (templates: {templates})").format(
                name=name, close=close[0], templates=templates))
        raise ConfigError(tr("Unknown model template {name!r} (templates: {templates})").format(name=name, templates=templates))
    return importlib.import_module(f"{__name__}.{key}").TEMPLATE


def build_model(name: str, spec: "DataSpec") -> "nn.Module":
    """Build template `name` for data described by `spec`; DataError if it cannot take that data."""
    template = get_template(name)
    if spec.kind not in template.kinds:
        fitting = [n for n in REGISTRY if spec.kind in get_template(n).kinds]
        raise DataError(tr("{template} works on {kinds} data, and this dataset is {kind}: use {fitting}").format(
            template=template.name, kinds=tr(" or ").join(sorted(template.kinds)), kind=spec.kind,
            fitting=", ".join(fitting)))
    return template.build(spec)
