"""Augmentation of a training batch of uint8 images, on the whole batch at once.

Why on the batch: the standard CIFAR augmentation (random crop of 32x32 from the image
padded with 4 zero pixels on every side, then a horizontal flip with probability 1/2; He
et al. 2016, torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()``) is
usually done per sample in data-loader workers. Here the images already sit on the device
as one uint8 tensor, so one gather does the crop and the flip for the whole batch: no
per-sample Python, no worker processes, and the draws (an offset in 0..8 per axis and a
coin per image) come from the replica's own ``torch.Generator``, so a run is reproducible
on CPU and a replica trained in a batch draws exactly what it draws alone. Images stay
uint8 (the models convert each batch to float, ``nets/images.py``).

Example:
    >>> x = torch.arange(2 * 3 * 32 * 32).remainder(256).to(torch.uint8).view(2, 3, 32, 32)
    >>> out = crop_flip(x, torch.Generator().manual_seed(0))
    >>> out.shape, out.dtype
    (torch.Size([2, 3, 32, 32]), torch.uint8)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

PAD = 4


def crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int = PAD,
              offsets: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
              ) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a (B, C, H, W) batch.

    ``offsets`` = (dy, dx, flip) forces the draws (tests compare with a per-image loop).
    """
    B, C, H, W = x.shape
    if offsets is None:
        dy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
        flip = torch.randint(0, 2, (B,), generator=gen).bool()
    else:
        dy, dx, flip = offsets
    dev = x.device
    dy, dx, flip = dy.to(dev), dx.to(dev), flip.to(dev)
    padded = F.pad(x, (pad, pad, pad, pad))  # zeros, uint8 kept
    i = torch.arange(H, device=dev)
    j = torch.arange(W, device=dev)
    rows = dy[:, None] + i  # (B, H)
    cols = dx[:, None] + torch.where(flip[:, None], W - 1 - j, j)  # (B, W), flipped when asked
    b = torch.arange(B, device=dev)[:, None, None, None]
    c = torch.arange(C, device=dev)[None, :, None, None]
    return padded[b, c, rows[:, None, :, None], cols[:, None, None, :]]


AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "crop_flip": crop_flip,
}


def batch_augment(data) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """The augmentation a data set asks for (``extra["augment"]``), or None."""
    name = (getattr(data, "extra", None) or {}).get("augment")
    return AUGMENTATIONS[name] if name else None


def augment_replicas(augment, x: torch.Tensor, gens: list[torch.Generator]) -> torch.Tensor:
    """(R, B, ...) batches, each replica's augmented with its own generator."""
    if augment is None:
        return x
    return torch.stack([augment(x[r], gen) for r, gen in enumerate(gens)])
