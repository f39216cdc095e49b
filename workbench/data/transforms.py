"""Imbalance transforms: make a training split long-tailed, step-imbalanced or noisy.

Why: reweighting schemes exist to fix imbalance and noise, so the workbench creates both
in a controlled way on a clean data set and measures what each scheme recovers. Every
transform is a frozen dataclass with ``apply(split, bundle, rng) -> Split`` that returns
a *new* training split; samples keep their ``ids`` so weights can be followed across
transforms; ``tasks`` says which data sets a transform accepts (others raise a
ValueError). ``load_prepared`` applies them to the training split only: val and test keep
their profile, so a scheme is judged on the distribution it should generalise to.

Example:
    >>> from workbench.data.digits import Digits
    >>> b = Digits().load(seed=0)
    >>> t = LongTail(ratio=10).apply(b.train, b, np.random.default_rng(0))
    >>> counts = np.bincount(t.y, minlength=10)
    >>> int(counts[0]), int(counts[9])
    (96, 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from ..registry import check
from .base import CLASSIFICATION, REGRESSION, TRANSFORMS, DatasetBundle, Split

MAX_GROWTH = 10  # transforms may grow a training split at most this many times
MAX_TRAIN_ROWS = 10_000_000  # and never beyond this many samples


def check_size(n_after: int, n_before: int, what: str) -> None:
    """Refuse an absurd training split (hours of silent training) with the limit named.

    Example:
        >>> check_size(100, 5, "imbalance transform 'duplicates'")
        Traceback (most recent call last):
        ...
        ValueError: imbalance transform 'duplicates' grew the training split from 5 to 100 \
samples (20x); the limit is 10x the original and 10,000,000 samples
    """
    check(n_after <= MAX_GROWTH * max(n_before, 1) and n_after <= MAX_TRAIN_ROWS,
          f"{what} grew the training split from {n_before} to {n_after} samples "
          f"({n_after / max(n_before, 1):.3g}x); the limit is {MAX_GROWTH}x the original and "
          f"{MAX_TRAIN_ROWS:,} samples")


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))  # half up, not Python's half-to-even


def _needs_classes(kind: str, bundle: DatasetBundle) -> None:
    check(bundle.task == CLASSIFICATION,
          f"transform {kind!r} needs a classification data set; {bundle.name!r} is a "
          f"{bundle.task} task (use group_minority instead)")


def _resample_classes(split: Split, targets: np.ndarray, rng: np.random.Generator) -> Split:
    """Keep ``targets[c]`` samples of class c, drawn without replacement, order kept."""
    keep = []
    for c, n_c in enumerate(targets):
        idx = np.flatnonzero(split.y == c)
        keep.append(rng.choice(idx, size=min(int(n_c), len(idx)), replace=False))
    return split.subset(np.sort(np.concatenate(keep)))


def _reference_count(split: Split, n_classes: int) -> int:
    counts = np.bincount(split.y, minlength=n_classes)
    present = counts[counts > 0]
    return int(present.min()) if len(present) else 0


@TRANSFORMS.register("longtail")
@dataclass(frozen=True)
class LongTail(Params):
    """Exponential (long-tailed) class profile, largest/smallest class size = ``ratio``.

    Class c keeps ``n_max * ratio ** (-c / (C - 1))`` samples (class 0 largest, at least
    1), where ``n_max`` is the smallest class count available, so every target is
    feasible. This is the "long-tailed imbalance" of Cao et al., "Learning Imbalanced
    Datasets with Label-Distribution-Aware Margin Loss" (LDAM, NeurIPS 2019) and Cui et
    al. (CVPR 2019), as used for CIFAR-10-LT.

    Example:
        >>> LongTail(ratio=100).ratio
        100
    """

    tasks: ClassVar[tuple[str, ...]] = (CLASSIFICATION,)
    ratio: float = param(10.0, low=1, log=True, noun="a size ratio (largest/smallest class)",
                         help="Largest / smallest class size (>= 1).")

    def apply(self, split: Split, bundle: DatasetBundle, rng: np.random.Generator) -> Split:
        _needs_classes("longtail", bundle)
        C, n_max = bundle.n_classes, _reference_count(split, bundle.n_classes)
        targets = [max(1, _round(n_max * self.ratio ** (-c / (C - 1)))) for c in range(C)]
        return _resample_classes(split, np.asarray(targets), rng)


@TRANSFORMS.register("step")
@dataclass(frozen=True)
class Step(Params):
    """Step imbalance: the last ``ceil(mu * C)`` classes shrink by ``ratio``.

    Majority classes keep ``n_max`` samples (the smallest class count available) and
    minority classes ``n_max / ratio`` (at least 1): the "step imbalance" of Buda et al.,
    "A systematic study of the class imbalance problem in convolutional neural networks"
    (Neural Networks, 2018), also used by Cao et al. (LDAM, 2019).

    Example:
        >>> Step(ratio=10, mu=0.3).mu
        0.3
    """

    tasks: ClassVar[tuple[str, ...]] = (CLASSIFICATION,)
    ratio: float = param(10.0, low=1, log=True, noun="a size ratio (majority/minority class)",
                         help="Majority / minority class size (>= 1).")
    mu: float = param(0.5, low=0, high=1, closed="neither",
                      noun="a fraction of minority classes",
                      help="Fraction of classes that become minority classes, in (0, 1).")

    def apply(self, split: Split, bundle: DatasetBundle, rng: np.random.Generator) -> Split:
        _needs_classes("step", bundle)
        C, n_max = bundle.n_classes, _reference_count(split, bundle.n_classes)
        n_minor = min(C, math.ceil(self.mu * C - 1e-9))
        targets = np.full(C, n_max)
        targets[C - n_minor:] = max(1, _round(n_max / self.ratio))
        return _resample_classes(split, targets, rng)


@TRANSFORMS.register("group_minority")
@dataclass(frozen=True)
class GroupMinority(Params):
    """Down-sample one group to ``fraction`` of its size (at least 1 sample kept).

    Makes a group rare in training while val and test keep it, the setting of Group DRO
    (Sagawa et al., ICLR 2020) and of "Just Train Twice" (Liu et al., ICML 2021). Works
    for regression data sets too.

    Example:
        >>> GroupMinority(group=1, fraction=0.05).fraction
        0.05
    """

    tasks: ClassVar[tuple[str, ...]] = (CLASSIFICATION, REGRESSION)
    group: int = param(1, low=0, noun="an integer group id",
                       help="Id of the group made rare in training.")
    fraction: float = param(0.1, low=0, high=1, closed="right",
                            help="Fraction of that group's training samples kept, in (0, 1].")

    def apply(self, split: Split, bundle: DatasetBundle, rng: np.random.Generator) -> Split:
        valid = ", ".join(f"{i} ({n})" for i, n in enumerate(bundle.group_names))
        check(self.group < bundle.n_groups,
              f"group_minority group {self.group} is out of range for {bundle.name!r}; "
              f"valid group ids: {valid}")
        idx = np.flatnonzero(split.g == self.group)
        n_keep = max(1, _round(self.fraction * len(idx))) if len(idx) else 0
        keep = rng.choice(idx, size=n_keep, replace=False)
        return split.subset(np.sort(np.concatenate([np.flatnonzero(split.g != self.group),
                                                    keep])))


LABEL_NOISE_MODES = ("symmetric", "flip")


@TRANSFORMS.register("label_noise")
@dataclass(frozen=True)
class LabelNoise(Params):
    """Corrupt the labels of exactly ``round(rate * n)`` training samples.

    ``"symmetric"`` gives each chosen sample a uniformly random *other* class;
    ``"flip"`` (pair/asymmetric noise) maps class c to (c + 1) mod C. Changed samples get
    ``noisy = True``, so the app can show whether a scheme down-weights them. The standard
    synthetic noise models of Patrini et al. (CVPR 2017) and Han et al., "Co-teaching"
    (NeurIPS 2018).

    Example:
        >>> LabelNoise(rate=0.2, mode="flip").mode
        'flip'
    """

    tasks: ClassVar[tuple[str, ...]] = (CLASSIFICATION,)
    rate: float = param(0.2, low=0, high=1, closed="left",
                        help="Fraction of training labels corrupted, in [0, 1).")
    mode: str = param("symmetric", choices=LABEL_NOISE_MODES,
                      help="'symmetric': a uniformly random other class; 'flip': the next "
                           "class (c -> c + 1).")

    def apply(self, split: Split, bundle: DatasetBundle, rng: np.random.Generator) -> Split:
        _needs_classes("label_noise", bundle)
        C, n = bundle.n_classes, len(split)
        idx = rng.choice(n, size=_round(self.rate * n), replace=False)
        y, noisy = split.y.copy(), split.noisy.copy()
        if self.mode == "symmetric":
            y[idx] = (y[idx] + rng.integers(1, C, size=len(idx))) % C
        else:
            y[idx] = (y[idx] + 1) % C
        noisy[idx] = True
        return split.with_labels(y, noisy)


@TRANSFORMS.register("duplicates")
@dataclass(frozen=True)
class Duplicates(Params):
    """Copy a random ``fraction`` of the training samples ``copies`` extra times each.

    Creates the redundancy that SoftDedup (He et al. 2024) and loss-based schemes target:
    ``round(fraction * n)`` samples, drawn without replacement, appear ``1 + copies`` times
    in the new split (the copies appended after the original samples, in the same order).
    Copies keep the original's ``ids`` (and label, group and noisy flag): they are the same
    sample, so the weights view shows one trajectory per sample id, and ids are no longer
    unique in this split. Works for every task.

    Example:
        >>> Duplicates(fraction=0.5, copies=2).copies
        2
    """

    tasks: ClassVar[tuple[str, ...]] = (CLASSIFICATION, REGRESSION)
    adds_copies: ClassVar[bool] = True  # the split grows and ids repeat (on purpose)
    fraction: float = param(0.1, low=0, high=1,
                            help="Fraction of the training samples that get copies.")
    copies: int = param(4, low=1, high=1000, help="Extra copies of each chosen sample.")

    def __post_init__(self):
        super().__post_init__()
        growth = 1 + self.fraction * self.copies
        self.require(growth <= MAX_GROWTH, "copies",
                     f"duplicates grows the training split {growth:g}-fold (1 + fraction x "
                     f"copies = 1 + {self.fraction:g} x {self.copies}); the limit is "
                     f"{MAX_GROWTH}x the original: lower copies or fraction")

    def apply(self, split: Split, bundle: DatasetBundle, rng: np.random.Generator) -> Split:
        n = len(split)
        chosen = np.sort(rng.choice(n, size=min(n, _round(self.fraction * n)), replace=False))
        idx = np.concatenate([np.arange(n), np.tile(chosen, int(self.copies))])
        return split.subset(idx)
