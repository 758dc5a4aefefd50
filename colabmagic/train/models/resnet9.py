"""`resnet9`: the ResNet-9 of the DAWNBench / airbench line, the fastest road to 94 % on CIFAR-10.

prep conv 64 -> [conv 128, pool, residual(2 convs)] -> [conv 256, pool] -> [conv 512, pool,
residual(2 convs)] -> global max-pool -> linear, logits scaled by 1/8. BatchNorm everywhere, big
batches, label smoothing, flip + translate augmentation on the device, no DataLoader (the loop
keeps the whole dataset on the GPU). Pooling stops once the feature map is 1x1, so small images work.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..data.dataset import DataSpec
from .template import Template


@dataclass
class ResNet9Config:
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)  # prep, layer1, layer2, layer3 channels
    logit_scale: float = 0.125                              # tames the logits of an unnormalised head


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x):
        return x + self.body(x)


class Scale(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class ResNet9(nn.Module):
    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, cfg: ResNet9Config = ResNet9Config()):
        super().__init__()
        channels, height, width = input_shape
        prep, w1, w2, w3 = cfg.widths
        size = min(height, width)

        def pool():
            nonlocal size
            if size < 2:
                return nn.Identity()
            size //= 2
            return nn.MaxPool2d(2)

        self.layers = nn.Sequential(
            conv_bn(channels, prep),
            conv_bn(prep, w1), pool(), Residual(w1),
            conv_bn(w1, w2), pool(),
            conv_bn(w2, w3), pool(), Residual(w3),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
            nn.Linear(w3, num_classes, bias=False), Scale(cfg.logit_scale))

    def forward(self, x):
        return self.layers(x)


def build(spec: DataSpec) -> ResNet9:
    return ResNet9(spec.input_shape, spec.num_classes)


TEMPLATE = Template(
    name="resnet9", kinds=frozenset({"image"}), build=build, convolutional=True,
    defaults=dict(epochs=10, batch_size=512, lr=0.4, weight_decay=5e-4, label_smoothing=0.2,
                  augment="flip,crop"),
    image_size=32,  # the CIFAR-10 network
)
