"""`cnn`: the CNN of Colab's image tutorials (conv-pool-conv-pool-conv, then dense), with BatchNorm.

The tutorial's Keras model is Conv(32)-MaxPool-Conv(64)-MaxPool-Conv(64)-Flatten-Dense(64)-Dense(10).
This keeps that shape, pads the convolutions ("same") so small images (8x8 digits) keep their
pixels, skips a pooling step once the feature map is down to 2x2, and adds BatchNorm after each
convolution, which lets it train at a high learning rate and reach its accuracy in a few epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..data.dataset import DataSpec
from .template import Template


@dataclass
class CNNConfig:
    channels: tuple[int, int, int] = (32, 64, 64)  # output channels of the three convolutions
    hidden: int = 64                               # units of the dense layer
    dropout: float = 0.25                          # before the classifier


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class CNN(nn.Module):
    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, cfg: CNNConfig = CNNConfig()):
        super().__init__()
        channels, height, width = input_shape
        c1, c2, c3 = cfg.channels
        layers: list[nn.Module] = []
        for c_in, c_out, pool in ((channels, c1, True), (c1, c2, True), (c2, c3, False)):
            layers.append(conv_bn(c_in, c_out))
            if pool and min(height, width) >= 4:  # stop halving at 2x2: digits are only 8x8
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c3 * height * width, cfg.hidden), nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def build(spec: DataSpec) -> CNN:
    return CNN(spec.input_shape, spec.num_classes)


TEMPLATE = Template(
    name="cnn", kinds=frozenset({"image"}), build=build, convolutional=True,
    defaults=dict(epochs=15, batch_size=64, lr=0.05, weight_decay=5e-4, label_smoothing=0.1),
    image_size=32,  # CIFAR-sized, as in Colab's CNN tutorial
)
