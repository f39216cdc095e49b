"""``spurious_digits``: a Waterbirds-like spurious-correlation task built from 8x8 digits.

Why: Group DRO, JTT and group reweighting exist because a model trained by ERM latches
onto a feature that predicts the label in training but not at test time (Waterbirds:
land/water background; Sagawa et al., ICLR 2020). Here the strength of that shortcut is
a parameter, and the whole thing trains on a CPU in seconds.

Construction (our design, after Waterbirds): the label is y = 1 if the digit is >= 5
(5..9) and 0 if it is 0..4 (about 50/50 in scikit-learn's digits). The nuisance
attribute a in {0, 1} is drawn *into* the image: a = 1 adds a bright frame (the 28
border pixels raised by ``intensity``, clipped to [0, 1]), a = 0 leaves the image as is.
The frame is a far easier feature than the digit's shape. In the training split,
a = y for exactly round(correlation * n_c) samples of each class c (chosen at random,
fixed by the seed), so P(a = y) = ``correlation``; in val and test, a is drawn
independently of y with exactly half of each class framed, so the four groups are
balanced there and worst-group accuracy measures whether the model uses the digit.
Groups are label x attribute, ``g = 2 y + a``, named "y=0,a=0", "y=0,a=1", "y=1,a=0",
"y=1,a=1"; the minority groups in training are "y=0,a=1" and "y=1,a=0".

Example:
    >>> b = SpuriousDigits(correlation=0.9).load(seed=0)
    >>> b.group_names[1], b.n_features, b.class_names
    ('y=0,a=1', 64, ['0-4', '5-9'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split, split_three
from .digits import _raw

GROUP_NAMES = ["y=0,a=0", "y=0,a=1", "y=1,a=0", "y=1,a=1"]
BORDER = np.ones((8, 8), dtype=bool)
BORDER[1:-1, 1:-1] = False  # the 28 pixels of the frame


def render(X: np.ndarray, a: np.ndarray, intensity: float) -> np.ndarray:
    """Draw the attribute into flat 8x8 images: a frame of ``intensity`` where a == 1."""
    out = X.copy()
    frame = BORDER.reshape(-1)
    out[np.ix_(a == 1, frame)] = np.clip(out[np.ix_(a == 1, frame)] + intensity, 0.0, 1.0)
    return out


def attribute(y: np.ndarray, agree: float, rng: np.random.Generator) -> np.ndarray:
    """a with a == y for exactly round(agree * n_c) samples of each class c."""
    a = np.empty_like(y)
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(agree * len(idx)))
        a[idx[:k]] = c
        a[idx[k:]] = 1 - c
    return a


@DATASETS.register("spurious_digits")
@dataclass(frozen=True)
class SpuriousDigits(Params):
    """Digits 0-4 vs 5-9 with a spurious frame attribute that matches the label in a
    fraction ``correlation`` of training samples (Waterbirds-like, after Sagawa et al. 2020).

    ``correlation`` in [0.5, 1) (default 0.95): P(a = y) in the training split, exactly per
    class; val and test have a independent of y, every group a quarter. ``intensity`` in
    (0, 1] (default 1.0) is how much the frame brightens the border pixels (pixels in
    [0, 1]). Splits 60/15/25 of the 1,797 images, stratified by digit, fixed by the seed;
    the attribute draw is fixed by the seed too. Groups: ``g = 2 y + a``.

    Example:
        >>> b = SpuriousDigits().load(seed=0)
        >>> b.counts("test")["group"].tolist()
        [113, 113, 112, 112]
    """

    task: ClassVar[str] = CLASSIFICATION
    correlation: float = param(0.95, low=0.5, high=1, closed="left",
                               help="Share of training samples whose border matches their "
                                    "label (the spurious feature's strength).")
    intensity: float = param(1.0, low=0, high=1, closed="right",
                             help="Brightness of the border: how easy the shortcut is to see.")

    def load(self, seed: int) -> DatasetBundle:
        X, digit = _raw()
        y = (digit >= 5).astype(np.int64)
        tr, va, te = split_three(len(y), val=0.15, test=0.25, seed=seed, stratify=digit)
        rng = np.random.default_rng([seed, 4242])
        splits = []
        for idx, agree in ((tr, self.correlation), (va, 0.5), (te, 0.5)):
            a = attribute(y[idx], agree, rng)
            splits.append(Split(render(X[idx], a, self.intensity), y[idx], 2 * y[idx] + a,
                                ids=idx.astype(np.int64)))
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION, train=splits[0], val=splits[1],
            test=splits[2], class_names=["0-4", "5-9"], group_names=list(GROUP_NAMES),
            notes=f"frame attribute a = y in {self.correlation:.0%} of training samples; in "
                  "val and test a is independent of y and the four groups are balanced",
            extra={"image_shape": (8, 8), "correlation": self.correlation,
                   "attribute": {"train": splits[0].g % 2, "val": splits[1].g % 2,
                                 "test": splits[2].g % 2}},
        )
