"""Models: ``linear`` (logistic / linear regression) and ``mlp``.

Plain ``nn.Sequential`` stacks of Linear layers, so a batched-replica engine can stack
their parameters. ``build`` is given the input width and the output width (number of
classes, or 1 for regression).

Example:
    >>> import torch
    >>> m = MLP(hidden=[16]).build(8, 3)
    >>> m(torch.zeros(2, 8)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ..params import Params, _is_int, param
from .base import MAX_PARAMS, MAX_WIDTH, MODELS


@MODELS.register("linear")
@dataclass(frozen=True)
class Linear(Params):
    """Logistic regression (classification) or linear regression: one Linear layer."""

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        return nn.Sequential(nn.Linear(n_in, n_out))


@MODELS.register("mlp")
@dataclass(frozen=True)
class MLP(Params):
    """Multi-layer perceptron with ReLU activations (hidden widths, optional dropout)."""

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    hidden: list = param([128, 128], item="int", low=1, high=MAX_WIDTH,
                         noun=f"a list of widths in 1..{MAX_WIDTH}, e.g. hidden=[128,128] "
                              "(or hidden=256 for one layer)",
                         help="Hidden layer widths, e.g. [128, 128].")
    dropout: float = param(0.0, low=0, high=1, closed="left",
                           help="Dropout probability after each hidden layer, in [0, 1).")

    def __post_init__(self):
        if _is_int(self.hidden):  # a bare width is a one-layer list: hidden=256
            object.__setattr__(self, "hidden", [self.hidden])
        super().__post_init__()
        between = sum(a * b for a, b in zip(self.hidden, self.hidden[1:]))
        self.require(between <= MAX_PARAMS, "hidden",
                     f"mlp hidden={list(self.hidden)} has {between:,} weights between its hidden "
                     f"layers alone; the limit is {MAX_PARAMS:,} parameters (narrower or "
                     "fewer layers)")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        layers: list[nn.Module] = []
        width = n_in
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if self.dropout:
                layers.append(nn.Dropout(self.dropout))
            width = h
        layers.append(nn.Linear(width, n_out))
        return nn.Sequential(*layers)
