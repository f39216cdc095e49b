"""What the image models share: uint8 batches to float, and the CUDA speed-ups.

Why the model converts: the data stay uint8 on the device (a 50,000-image CIFAR split is
150 MB instead of 600 MB of float32) and every batch, for training or evaluation, goes
through the model's first step, ``to_float``: x / 255, normalised per channel with the
CIFAR-10 training set's mean (0.4914, 0.4822, 0.4465) and standard deviation (0.2470,
0.2435, 0.2616) (computed over all 50,000 training images; Cao et al.'s code uses the
widely copied 0.2023, 0.1994, 0.2010). A float input is taken as already normalised.
Evaluation of a whole split (``no_grad``) runs in chunks of ``EVAL_CHUNK`` images, so a
ResNet-32's activations stay at a few hundred MB whatever the split's size.

On CUDA, ``speedups`` decides: channels_last inputs (cuDNN's fast layout for
convolutions) and bf16 autocast (tensor cores; BatchNorm and the loss stay float32), where
the GPU supports bf16; on CPU neither is used (no gain there). The run records the
decision in ``run.info["speedups"]``.

Example:
    >>> speedups("cuda", bf16_supported=True)
    {'channels_last': True, 'autocast': 'bfloat16'}
    >>> speedups("cpu", bf16_supported=True)
    {'channels_last': False, 'autocast': None}
    >>> to_float(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8))[0, :, 0, 0]
    tensor([2.0591, 2.1265, 2.1158])
"""

from __future__ import annotations

import functools

import torch
from torch import nn

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
EVAL_CHUNK = 1024


def speedups(device_type: str, bf16_supported: bool, enabled: bool = True) -> dict:
    """The CUDA speed-ups an image model uses on ``device_type``."""
    on = enabled and device_type == "cuda"
    return {"channels_last": on, "autocast": "bfloat16" if on and bf16_supported else None}


@functools.cache
def _bf16(device: torch.device) -> bool:
    """Whether the GPU computes in bf16 natively (asked once per device)."""
    with torch.cuda.device(device):
        return torch.cuda.is_bf16_supported()


@functools.cache
def _affine(device: torch.device, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = (MEAN, STD) if channels == 3 else ((0.5,) * channels, (0.25,) * channels)
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], device=device).view(1, -1, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(mean, std)], device=device).view(1, -1, 1, 1)
    return scale, shift


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images (B, C, H, W) -> normalised float32; float input unchanged."""
    if x.is_floating_point():
        return x
    scale, shift = _affine(x.device, int(x.shape[1]))
    return x.float().mul_(scale).sub_(shift)


class ImageNet(nn.Module):
    """Base of the image models: ``body`` maps normalised float images to logits."""

    def __init__(self, use_speedups: bool = True):
        super().__init__()
        self.use_speedups = use_speedups

    def speedups(self, device: torch.device) -> dict:
        return speedups(device.type, device.type == "cuda" and _bf16(device),
                        self.use_speedups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and x.shape[0] > EVAL_CHUNK:
            return torch.cat([self.forward(c) for c in x.split(EVAL_CHUNK)])
        how = self.speedups(x.device) if x.is_cuda else speedups("cpu", False)
        x = to_float(x)
        if how["channels_last"]:
            x = x.contiguous(memory_format=torch.channels_last)
        if how["autocast"]:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return self.body(x).float()
        return self.body(x)

    def body(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def speedups_of(model: nn.Module, device: torch.device) -> dict:
    """{"speedups": {...}} for an image model (alone or a stacked replica's), else {}."""
    for m in (model, getattr(model, "base", None)):
        if isinstance(m, ImageNet):
            return {"speedups": m.speedups(torch.device(device))}
    return {}
