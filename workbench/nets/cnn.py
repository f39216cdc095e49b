"""``cnn``: a small 2-D convolutional network for images, that trains in seconds on a CPU.

Why: ResNet-32 is the published model of the CIFAR-LT benchmarks, but on a laptop CPU an
epoch of CIFAR-10-LT takes minutes. This net (three 3x3 convolutions with ``channels``,
2 x and 4 x ``channels`` filters and ReLU, 2x2 max pooling after the first two, global
average pooling, one Linear layer; our choices) has 24k parameters at the default width
and needs about 1/25 of ResNet-32's multiply-adds per image, enough to see what a
reweighting scheme does to the tail classes. No BatchNorm and no dropout, so several runs
can train as stacked replicas (``torch.func.vmap``).

Example:
    >>> import torch
    >>> net = CNN().build(3, 10)
    >>> sum(p.numel() for p in net.parameters()), net(torch.zeros(2, 3, 32, 32)).shape
    (24234, torch.Size([2, 10]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..params import Params, param
from ..registry import check
from .base import MODELS
from .images import ImageNet


class SmallCNN(ImageNet):
    def __init__(self, n_in: int, n_out: int, channels: int, use_speedups: bool = True):
        super().__init__(use_speedups)
        c = channels
        self.conv1 = nn.Conv2d(n_in, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.conv3 = nn.Conv2d(2 * c, 4 * c, 3, padding=1)
        self.fc = nn.Linear(4 * c, n_out)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        return self.fc(x.mean((2, 3)))


@MODELS.register("cnn")
@dataclass(frozen=True)
class CNN(Params):
    """Small image CNN: 3x3 convolutions of ``channels``, 2x, 4x filters with ReLU and max
    pooling, global average pooling, Linear (24k parameters at 16 channels).

    Takes (B, C, H, W) images (uint8 or normalised float); trains as stacked replicas.

    Example:
        >>> CNN(channels=8).channels
        8
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    inputs: ClassVar[str] = "image"
    channels: int = param(16, low=1, high=512, help="Filters of the first convolution (2x "
                                                    "and 4x in the next two).")
    speedups: bool = param(True, help="On CUDA: channels_last and bf16 autocast (no effect "
                                      "on CPU).")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        check(n_in >= 1, f"cnn needs images with >= 1 channel, got {n_in!r}")
        return SmallCNN(n_in, n_out, self.channels, self.speedups)
