"""Repeated Random Sampling (RS2, Okanovic et al. 2023).

Instead of pruning the data set once, RS2 trains every epoch ("round") on a fresh random
subset of a fraction r of the training set, drawn *without replacement across epochs*:
no sample is seen twice before every sample has been seen once. Each epoch is r times
shorter, so a run of E epochs costs about r E full epochs of compute.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.zeros(10).long(),
    ...                  g=torch.zeros(10).long(), n_classes=1, n_groups=1, total_steps=10)
    >>> s = RS2(fraction=0.5)
    >>> gen = torch.Generator().manual_seed(0)
    >>> seen = torch.cat([s.epoch_order({}, info, e, gen) for e in range(2)])
    >>> s.epoch_size(10), sorted(seen.tolist()) == list(range(10))
    (5, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Scheme, State, TrainInfo


def cycle_permutation(base_seed: int, cycle: int, n: int) -> torch.Tensor:
    """The random permutation of cycle ``cycle``, fixed by (``base_seed``, ``cycle``)."""
    seed = (int(base_seed) * 1_000_003 + 7919 * (cycle + 1)) % (2**63 - 1)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


@SCHEMES.register("rs2")
@dataclass(frozen=True)
class RS2(Scheme):
    """RS2 (Okanovic et al. 2023): each epoch, a fresh random fraction of the training set.

    Every epoch trains on m = max(1, round(fraction N)) samples (``epoch_size``; the engine
    then runs ceil(m / batch size) steps per epoch). The samples come from walking through
    one random permutation of the training set, m per epoch (RS2 without replacement):
    the K = ceil(N / m) epochs of a "cycle" together cover every sample; when a
    permutation is exhausted, the next cycle starts a new one. Loss weights are uniform.
    Our choices: when m does not divide N, the last epoch of a cycle tops its remaining
    samples up with the first ones of the same permutation (so every epoch has exactly m
    distinct samples and cycles stay aligned with epochs). Determinism: ``epoch_order`` is
    given only the epoch and the run's generator, so the permutation of cycle k is drawn
    from a private generator seeded with (the run generator's ``initial_seed()``, k); the
    run generator is not advanced. The same run seed gives the same subsets, any epoch can
    be recomputed on its own, and a different seed gives different subsets.

    Example:
        >>> RS2(fraction=0.25).epoch_size(1000)
        250
    """

    uniform_on_equal_losses: ClassVar[bool] = True  # the loss weights are always uniform
    paper: ClassVar[str] = ("Okanovic et al., Repeated Random Sampling for Minimizing the "
                            "Time-to-Accuracy of Learning, 2023 (ICLR 2024)")
    formula: ClassVar[str] = (r"S_e = \pi_k[(e - kK)\,m : (e - kK + 1)\,m],\quad "
                              r"m = \mathrm{round}(rN),\ K = \lceil N/m \rceil,\ "
                              r"k = \lfloor e / K \rfloor")
    fraction: float = param(0.1, low=0, high=1, closed="right",
                            help="Fraction of the training set drawn each epoch.")

    def epoch_size(self, n: int) -> int:
        """m = max(1, round(fraction n)), rounding halves up."""
        return max(1, min(n, int(math.floor(self.fraction * n + 0.5))))

    def epochs_per_cycle(self, n: int) -> int:
        return math.ceil(n / self.epoch_size(n))

    def epoch_order(self, state: State, info: TrainInfo, epoch: int,
                    gen: torch.Generator) -> torch.Tensor:
        n = info.n
        m, K = self.epoch_size(n), self.epochs_per_cycle(n)
        cycle, pos = divmod(int(epoch), K)
        perm = cycle_permutation(gen.initial_seed(), cycle, n)
        chunk = perm[pos * m:(pos + 1) * m]
        if len(chunk) < m:  # the last epoch of the cycle: top up from the same permutation
            chunk = torch.cat([chunk, perm[:m - len(chunk)]])
        return chunk
