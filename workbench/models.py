"""Models: ``linear``, ``mlp`` (``nets/mlp.py``), ``cnn1d`` and ``transformer`` (``nets/``).

This module only imports: the registry lives in ``nets/base.py`` and each architecture
registers itself there, so ``models`` and ``nets`` import in one direction. A model's
``tasks`` class var lists the tasks it can fit; ``RunConfig.validate`` checks it (the lm
task needs ``model="transformer"``).

Example:
    >>> import torch
    >>> m = MODELS.create("mlp", hidden=[16]).build(8, 3)
    >>> m(torch.zeros(2, 8)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from .nets import MODELS
from .nets.mlp import MLP, Linear

__all__ = ["MLP", "MODELS", "Linear"]
