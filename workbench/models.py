"""Models: ``linear`` (logistic / linear regression) and ``mlp``.

Plain ``nn.Sequential`` stacks of Linear layers, so a later batched-replica engine can
stack their parameters. ``build`` is given the input width and the output width
(number of classes, or 1 for regression). A model's ``tasks`` class var lists the tasks it
can fit; ``RunConfig.validate`` checks it (the lm task needs ``model="transformer"``).

Example:
    >>> import torch
    >>> m = MODELS.create("mlp", hidden=[16]).build(8, 3)
    >>> m(torch.zeros(2, 8)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from torch import nn

from .registry import Registry, check

MODELS = Registry("model")


@MODELS.register("linear")
@dataclass(frozen=True)
class Linear:
    """Logistic regression (classification) or linear regression: one Linear layer."""

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        return nn.Sequential(nn.Linear(n_in, n_out))


@MODELS.register("mlp")
@dataclass(frozen=True)
class MLP:
    """Multi-layer perceptron with ReLU activations (hidden widths, optional dropout)."""

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    hidden: list = field(default_factory=lambda: [128, 128])
    dropout: float = 0.0

    def __post_init__(self):
        check(isinstance(self.hidden, (list, tuple)) and len(self.hidden) > 0
              and all(isinstance(h, int) and h > 0 for h in self.hidden),
              f"mlp hidden must be a non-empty list of positive integers, got {self.hidden!r}")
        check(isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1,
              f"mlp dropout must be in [0, 1), got {self.dropout!r}")

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


from .nets import cnn1d, transformer  # noqa: E402, F401  (registration of more models)
