"""SoftDedup (He et al. 2024): down-weight common samples.

Hard de-duplication deletes repeated samples; SoftDedup keeps them all but gives each a
weight that falls with its "commonness", so redundant data count less without a hard
threshold. Commonness here is, for feature rows, the number of training samples that are
copies of the row (exact, or within a Euclidean ``radius``), and for token sequences the
sample's n-gram probability under the training corpus, as in the paper.

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    >>> commonness(X).tolist()
    [3.0, 3.0, 3.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..params import param
from ..registry import check
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train

MEASURES = ("auto", "rows", "ngram")
NGRAM = 3


def is_token_data(X: np.ndarray) -> bool:
    """Token sequences: every entry a non-negative integer id, some id > 1, >= 3 columns."""
    X = np.asarray(X)
    return (X.ndim == 2 and X.shape[1] >= NGRAM and X.size > 0 and bool(np.all(X >= 0))
            and bool(np.all(X == np.round(X))) and float(X.max()) > 1)


def row_commonness(X: np.ndarray, radius: float = 0.0) -> np.ndarray:
    """Per row, the number of training rows (itself included) equal to it or within radius."""
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    if radius == 0:  # exact duplicates: group identical rows by their bytes
        _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
        return counts[inverse.reshape(-1)].astype(np.float64)
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=radius).fit(X)
    neighbours = nn.radius_neighbors(X, return_distance=False)
    return np.array([len(r) for r in neighbours], dtype=np.float64)


def ngram_commonness(X: np.ndarray, n: int = NGRAM) -> np.ndarray:
    """exp(mean log p) of each sequence's token n-grams, p = n-gram count / total n-grams."""
    T = np.asarray(X).astype(np.int64)
    check(T.ndim == 2 and T.shape[1] >= n,
          f"softdedup measure 'ngram' needs token sequences of length >= {n}, got shape {T.shape}")
    grams = np.stack([T[:, j:T.shape[1] - n + 1 + j] for j in range(n)], axis=-1)
    flat = grams.reshape(-1, n)
    _, inverse, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    logp = np.log(counts[inverse.reshape(-1)] / len(flat)).reshape(grams.shape[:2])
    return np.exp(logp.mean(axis=1))


def commonness(X: np.ndarray, radius: float = 0.0, measure: str = "auto") -> np.ndarray:
    """Commonness of every training sample (rows or n-grams, see ``SoftDedup``)."""
    if measure == "ngram" or (measure == "auto" and is_token_data(X)):
        return ngram_commonness(X)
    return row_commonness(X, radius)


@SCHEMES.register("softdedup")
@dataclass(frozen=True)
class SoftDedup(Scheme):
    """SoftDedup (He et al. 2024): weight proportional to commonness^(-power), no deletion.

    ``prepare`` computes every training sample's commonness once from the training inputs:
    for feature rows, the number of training rows identical to it (``radius`` = 0, by
    hashing rows) or within Euclidean distance ``radius`` (scikit-learn NearestNeighbors
    radius queries), itself included, so a sample with k - 1 copies has commonness k and,
    with power = 1, the k copies together weigh as much as one unique sample; for token
    sequences, exp of the mean log-probability of the sample's token 3-grams under the
    training set's 3-gram counts (the paper's n-gram commonness). The weight table
    commonness^(-power), rescaled to mean 1 over the training set, is ``state["table"]``;
    a batch's weights are the table at its samples (fixed weights, never rescaled per
    batch).
    Our choices: labels are ignored (only inputs make duplicates); ``measure`` "auto" uses
    n-grams when every input is a non-negative integer id with some id > 1 and there are
    >= 3 columns (token data), rows otherwise; "rows"/"ngram" force one; no clipping;
    before ``prepare`` the table is all ones (ERM).

    Example:
        >>> SoftDedup(power=0.5, radius=0.1).params()
        {'power': 0.5, 'radius': 0.1, 'measure': 'auto'}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression", "lm")
    uniform_on_equal_losses: ClassVar[bool] = False  # weights depend on inputs, not losses
    normalisation: ClassVar[str] = "fixed"
    paper: ClassVar[str] = ("He et al., SoftDedup: an Efficient Data Reweighting Method for "
                            "Speeding Up Language Model Pre-training, ACL 2024")
    formula: ClassVar[str] = r"w_i \propto \mathrm{commonness}(x_i)^{-p}"
    power: float = param(1.0, low=0,
                         help="Exponent p of w ~ commonness^(-p): 0 uniform, 1 the paper's.")
    radius: float = param(0.0, low=0,
                          help="Rows within this distance count as duplicates (0: exact "
                               "copies only; rows measure).")
    measure: str = param("auto", choices=MEASURES,
                         help="How commonness is measured: 'rows' (near-duplicate rows), "
                              "'ngram' (token n-grams, lm), 'auto' picks by task.")

    def init_state(self, info: TrainInfo) -> State:
        return {"table": torch.ones(info.n, device=info.y.device)}

    def table(self, X: np.ndarray) -> torch.Tensor:
        """commonness^(-power), mean 1 over the training set, float32."""
        w = commonness(X, float(self.radius), self.measure) ** (-float(self.power))
        return mean_one_over_train(torch.as_tensor(w, dtype=torch.float64)).to(torch.float32)

    def prepare(self, ctx, state: State) -> State:
        X = ctx.splits["train"].X
        return {**state, "table": self.table(X.cpu().numpy()).to(X.device)}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        table = state["table"].to(losses.device)
        return table[batch.idx.to(losses.device)].detach()
