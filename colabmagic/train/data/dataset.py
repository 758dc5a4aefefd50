"""The one shape every dataset loader returns, whatever the source format.

Tensors stay on the CPU here; the training loop moves them to the device once.
- images:  x is uint8 (0..255) or float32 (0..1), shape (N, C, H, W); `mean`/`std` are per-channel
           statistics of the training split in 0..1 units, applied by the loop on the device.
- tabular: x is float32 (N, F), already standardised with training-split statistics.
- text:    x is int64 token ids (N, L), 0 = padding, 1 = unknown word; `vocab_size` counts both.
Labels are int64 class indices 0..num_classes-1; `classes[i]` is the label value class i had in the
data (a str, or an int/float when the labels were numbers). `preprocessing` describes, as plain data,
what the loader did to the raw inputs (train/preprocess/), so a trained model can take raw inputs;
`notes` are lines worth telling the user (e.g. "resized from 4032x3024 to 32x32").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ...locale import tr

if TYPE_CHECKING:  # torch loads on first use, never at `%load_ext`
    import torch

KINDS = ("image", "tabular", "text")


@dataclass
class Dataset:
    name: str
    kind: str                      # one of KINDS
    x_train: "torch.Tensor"
    y_train: "torch.Tensor"
    x_test: "torch.Tensor | None"  # the official test split where one exists
    y_test: "torch.Tensor | None"
    num_classes: int
    classes: list[Any] = field(default_factory=list)  # original label values, in class-index order
    x_val: "torch.Tensor | None" = None
    y_val: "torch.Tensor | None" = None
    mean: tuple[float, ...] | None = None   # images: per-channel, 0..1 units
    std: tuple[float, ...] | None = None
    vocab_size: int | None = None           # text only
    source: str = ""                        # where it was read from (folder, file, "sklearn")
    preprocessing: dict[str, Any] | None = None  # what was done to raw inputs (train/preprocess/)
    notes: tuple[str, ...] = ()             # things the loader decided that the user should know

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W), (F,) or (L,)."""
        return tuple(self.x_train.shape[1:])

    @property
    def spec(self) -> "DataSpec":
        return DataSpec(self.kind, self.input_shape, self.num_classes, self.vocab_size)

    def __str__(self) -> str:
        splits = [tr("{count} train").format(count=len(self.x_train))]
        if self.x_val is not None:
            splits.append(tr("{count} val").format(count=len(self.x_val)))
        if self.x_test is not None:
            splits.append(tr("{count} test").format(count=len(self.x_test)))
        text = tr("{name}: {kind}, {splits}, {classes} classes, input {shape}").format(
            name=self.name, kind=self.kind, splits=tr(", ").join(splits), classes=self.num_classes,
            shape=self.input_shape)
        return "\n".join([text, *(f"  {note}" for note in self.notes)])

    def replace(self, **changes) -> "Dataset":
        return replace(self, **changes)


@dataclass(frozen=True)
class DataSpec:
    """What a model template needs to know about its data (no tensors)."""

    kind: str
    input_shape: tuple[int, ...]
    num_classes: int
    vocab_size: int | None = None
