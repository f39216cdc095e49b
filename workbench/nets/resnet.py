"""``resnet32``: the CIFAR ResNet of He et al. (2016), the long-tail benchmarks' model.

Why this one: class-balanced loss, LDAM-DRW and logit adjustment all report CIFAR-LT
results with ResNet-32; comparing with their numbers needs the same network. Architecture
(He et al. 2016, section 4.2): a 3x3 convolution with 16 channels, then three stages of
n = 5 basic blocks (two 3x3 convolutions with BatchNorm and ReLU, plus a shortcut) with
16, 32 and 64 channels at 32x32, 16x16 and 8x8 (the first block of stages 2 and 3 has
stride 2), global average pooling and one Linear layer: 6n + 2 = 32 layers, 0.46M
parameters. Shortcuts are the paper's option A for CIFAR: identity, and where the shape
changes, the input subsampled by 2 and zero-padded with the new channels (no parameters),
as in the authors' CIFAR models and Cao et al.'s ``resnet32``. Initialisation: Kaiming
normal for convolutions and the Linear layer (Cao et al.'s ``_weights_init``).

BatchNorm keeps running statistics that stacked replicas cannot update in place, so a
``resnet32`` run trains alone (``batched.why_not_batchable``).

Example:
    >>> net = ResNet32().build(3, 10)
    >>> sum(p.numel() for p in net.parameters())
    464154
    >>> net(torch.zeros(2, 3, 32, 32, dtype=torch.uint8)).shape
    torch.Size([2, 10])
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


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - in_planes if stride != 1 or in_planes != planes else 0

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Option A: identity; subsample by 2 and zero-pad the new channels."""
        if not self.pad:
            return x
        half = self.pad // 2
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, half, self.pad - half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(ImageNet):
    def __init__(self, n_in: int, n_out: int, blocks: int = 5, use_speedups: bool = True):
        super().__init__(use_speedups)
        self.conv1 = nn.Conv2d(n_in, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, width = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for k in range(blocks):
                layers.append(BasicBlock(width, planes, stride if k == 0 else 1))
                width = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, n_out)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


@MODELS.register("resnet32")
@dataclass(frozen=True)
class ResNet32(Params):
    """ResNet-32 for 32x32 images (He et al. 2016): 3 stages x 5 basic blocks, 16/32/64
    channels, option-A shortcuts, 0.46M parameters; the CIFAR-LT benchmarks' model.

    Takes (B, C, H, W) images (uint8 or normalised float). On CUDA it uses channels_last
    and bf16 autocast when ``speedups`` is on (recorded in ``run.info["speedups"]``).

    Example:
        >>> ResNet32().speedups
        True
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    inputs: ClassVar[str] = "image"
    speedups: bool = param(True, help="On CUDA: channels_last and bf16 autocast (no effect "
                                      "on CPU).")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        check(n_in >= 1, f"resnet32 needs images with >= 1 channel, got {n_in!r}")
        return CifarResNet(n_in, n_out, 5, self.speedups)
