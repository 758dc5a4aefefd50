"""`mlp`: a multilayer perceptron over flattened inputs (images or table rows)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..data.dataset import DataSpec
from .template import Template


@dataclass
class MLPConfig:
    hidden: tuple[int, ...] = (256, 256)  # units per hidden layer
    dropout: float = 0.1                  # after each hidden layer


class MLP(nn.Module):
    def __init__(self, in_features: int, num_classes: int, cfg: MLPConfig = MLPConfig()):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for units in cfg.hidden:
            layers += [nn.Linear(width, units), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout)]
            width = units
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def build(spec: DataSpec) -> MLP:
    return MLP(math.prod(spec.input_shape), spec.num_classes)


TEMPLATE = Template(
    name="mlp", kinds=frozenset({"image", "tabular"}), build=build,
    defaults=dict(epochs=20, batch_size=64, lr=0.05, weight_decay=5e-4, label_smoothing=0.1),
    image_size=28,  # MNIST-sized: 784 inputs
)
