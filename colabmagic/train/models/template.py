"""What every model template file declares, so the registry can build it and check its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch.nn as nn

    from ..data.dataset import DataSpec


@dataclass(frozen=True)
class Template:
    name: str                          # what the user types: `%train cnn digits`
    kinds: frozenset[str]              # data kinds it accepts: {"image"}, {"text"}, ...
    build: "Callable[[DataSpec], nn.Module]"
    defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields tuned for it
    convolutional: bool = False        # the loop uses channels_last for these
    image_size: int | None = None      # natural input side (pixels): larger images are resized to it
