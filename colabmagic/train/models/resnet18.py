"""`resnet18`: ResNet-18 in its CIFAR form (He et al. 2016, as in the common CIFAR benchmarks).

A 3x3 stem with no max-pool (32x32 inputs are already small), four stages of two basic blocks
(64, 128, 256, 512 channels; stages 2-4 halve the resolution while it is above 1x1), global
average pooling, one linear layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from ..data.dataset import DataSpec
from .template import Template


@dataclass
class ResNet18Config:
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)  # channels of the four stages
    blocks: tuple[int, int, int, int] = (2, 2, 2, 2)         # basic blocks per stage


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet18(nn.Module):
    def __init__(self, input_shape: tuple[int, int, int], num_classes: int,
                 cfg: ResNet18Config = ResNet18Config()):
        super().__init__()
        channels, height, width = input_shape
        size = min(height, width)
        self.stem = nn.Sequential(nn.Conv2d(channels, cfg.widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(cfg.widths[0]), nn.ReLU(inplace=True))
        stages, c_in = [], cfg.widths[0]
        for index, (c_out, count) in enumerate(zip(cfg.widths, cfg.blocks)):
            stride = 2 if index > 0 and size > 1 else 1
            size = (size + 1) // 2 if stride == 2 else size
            blocks = [BasicBlock(c_in, c_out, stride)] + [BasicBlock(c_out, c_out, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def build(spec: DataSpec) -> ResNet18:
    return ResNet18(spec.input_shape, spec.num_classes)


TEMPLATE = Template(
    name="resnet18", kinds=frozenset({"image"}), build=build, convolutional=True,
    defaults=dict(epochs=15, batch_size=256, lr=0.1, weight_decay=5e-4, label_smoothing=0.1,
                  augment="flip,crop"),
    image_size=32,  # the CIFAR variant
)
