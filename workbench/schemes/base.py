"""The contract every weighting scheme follows, and the helpers they share.

A scheme is a small, pure unit: a frozen dataclass of hyper-parameters declared with
``param`` (validated on construction), with its mutable state passed in and returned (a
dict of tensors), never a model or an optimizer inside. Following WILDS's Group DRO, the *objective*
(``weights`` and ``objective``) is kept apart from the *update* of the state.

The engine calls, at every step::

    losses = scheme.loss(outputs, y, info)                  # per-sample, with gradient
    state = scheme.update(losses.detach(), batch, state, info)
    w = scheme.weights(losses.detach(), batch, state, info)  # detached, >= 0
    total = scheme.objective(losses, w, outputs, batch)       # default mean(w * l)

How the weights are normalised depends on what the paper defines, and every scheme says
which of these it is in its ``normalisation`` class attribute (see ``NORMALISATIONS``):

- ``"fixed"``: one weight per sample, computed once, mean 1 over the *training set*, never
  rescaled per batch (inverse_frequency, effective_number, fairness_reweighing, JTT,
  importance_weighting, softdedup). A batch's mean weight varies around 1, and
  mean_i(w_i l_i) is an unbiased estimate of the weighted empirical risk, as in SubpopBench's
  ReWeight, Cui et al.'s code and AIF360's instance weights. Rescaling each batch to mean 1
  instead would be a self-normalised estimator that drifts towards ERM as the batch shrinks
  (at batch size 1 it *is* ERM).
- ``"per-batch"``: the paper defines the weights from the batch itself and normalises them
  over the batch (linupper, quadratic, extremes, kl_dro, cvar, detached focal).
- ``"group"``: the objective is sum_g q_g lbar_g over the groups of the batch, i.e.
  w_i = q_{g_i} B / m_{g_i} with m_g the batch count of group g (Group DRO, DoReMi,
  fair_error_bound); groups absent from the batch contribute nothing.
- ``"none"``: every weight is 1; the scheme changes the loss or what is drawn instead.

Sampling schemes (``mode = "sample"``) return uniform weights and instead give the
probability of drawing each training sample from ``sampling_probs``.

Example:
    >>> import torch
    >>> normalise(torch.tensor([1.0, 3.0]))
    tensor([0.5000, 1.5000])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..params import Params
from ..registry import Registry

SCHEMES = Registry("scheme")
State = dict[str, torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class TrainInfo:
    """What a scheme may know about the (transformed) training set."""

    task: str  # "classification", "regression" or "lm"
    y: torch.Tensor  # (N,) labels or targets; (N, T) next tokens for lm
    g: torch.Tensor  # (N,) group ids
    n_classes: int
    n_groups: int
    total_steps: int
    steps_per_epoch: int = 1

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def class_counts(self) -> torch.Tensor:
        return torch.bincount(self.y.long(), minlength=self.n_classes).to(torch.float32)

    @property
    def group_counts(self) -> torch.Tensor:
        return torch.bincount(self.g, minlength=self.n_groups).to(torch.float32)


@dataclass(frozen=True, kw_only=True)
class Batch:
    """One mini-batch as the scheme sees it (tensors on the engine's device)."""

    idx: torch.Tensor  # (B,) positions in the training split
    y: torch.Tensor  # (B,); (B, T) for lm
    g: torch.Tensor  # (B,)
    outputs: torch.Tensor  # (B, C) logits, (B,) predictions or (B, T, V) lm logits, detached
    step: int
    n_groups: int
    n_classes: int

    @property
    def group_counts(self) -> torch.Tensor:
        """(G,) float counts of each group in the batch, computed once and shared by the
        scheme's ``update`` and ``weights`` (a step's budget is a few dozen small ops)."""
        counts = self.__dict__.get("_group_counts")
        if counts is None:
            g = self.g if self.g.dtype == torch.long else self.g.long()
            counts = torch.zeros(self.n_groups, device=g.device).index_add_(
                0, g, torch.ones_like(g, dtype=torch.float32))
            object.__setattr__(self, "_group_counts", counts)  # a cache, not a field
        return counts


def counts_in(batch: Batch, like: torch.Tensor) -> torch.Tensor:
    """(G,) group counts of the batch in ``like``'s dtype, G = ``like.numel()``.

    The engine's batches carry ``n_groups == G`` and share one count between a scheme's
    ``update`` and ``weights``; a hand-built batch with another ``n_groups`` is counted here.
    """
    counts = (batch.group_counts if batch.n_groups == like.numel() else
              torch.bincount(batch.g.long(), minlength=like.numel()).float())
    return counts if counts.dtype == like.dtype else counts.to(like.dtype)


def per_sample_loss(outputs: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Cross-entropy for classification, squared error for regression; no reduction.

    For ``task == "lm"``: ``outputs`` (B, T, V) logits and ``y`` (B, T) next tokens give
    each sequence's mean token cross-entropy, shape (B,).
    """
    if task == "regression":
        return (outputs.reshape(-1) - y) ** 2
    if task == "lm":
        return F.cross_entropy(outputs.transpose(1, 2), y, reduction="none").mean(1)
    return F.cross_entropy(outputs, y, reduction="none")


NORMALISATIONS = {
    "fixed": "fixed per-sample weights, mean 1 over the training set, never rescaled per batch",
    "per-batch": "weights defined from the batch itself, normalised to mean 1 over the batch",
    "group": "group objective sum_g q_g lbar_g over the groups present in the batch",
    "none": "all weights 1: the scheme changes the loss or what is drawn",
}


def normalise(w: torch.Tensor) -> torch.Tensor:
    """Rescale weights to batch mean 1; all-zero weights become uniform.

    For ``"per-batch"`` schemes only: fixed weights use ``mean_one_over_train`` once.
    """
    total = w.sum()
    if not torch.isfinite(total) or total <= 0:
        return torch.ones_like(w)
    return w * (w.numel() / total)


def mean_one_over_train(table: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
    """Rescale a fixed weight table so that the mean weight over the training set is 1.

    ``table`` holds one weight per training sample (``counts`` None) or one per key (a
    class, a group, a cell) with ``counts`` the number of training samples of each key. A
    table whose total is zero or not finite becomes 1 for every key that has samples.

    Example:
        >>> mean_one_over_train(torch.tensor([1.0, 4.0]), torch.tensor([3.0, 1.0]))
        tensor([0.5714, 2.2857])
    """
    counts = torch.ones_like(table) if counts is None else counts.to(table.dtype)
    total = (table * counts).sum()
    if not torch.isfinite(total) or total <= 0:
        return torch.where(counts > 0, torch.ones_like(table), torch.zeros_like(table))
    return table * (counts.sum() / total)


def group_objective_weights(q: torch.Tensor, batch: Batch, like: torch.Tensor) -> torch.Tensor:
    """w_i = q_{g_i} B / m_{g_i}: then mean_i(w_i l_i) = sum_g q_g lbar_g over the groups
    present in the batch (absent groups contribute nothing), as in Sagawa et al.'s
    ``loss.py``. Detached, in ``like``'s dtype and device.

    Example:
        >>> b = Batch(idx=torch.arange(3), y=torch.zeros(3), g=torch.tensor([0, 0, 1]),
        ...           outputs=torch.zeros(3), step=0, n_groups=2, n_classes=0)
        >>> group_objective_weights(torch.tensor([0.5, 0.5]), b, torch.zeros(3))
        tensor([0.7500, 0.7500, 1.5000])
    """
    q = q.to(device=like.device, dtype=like.dtype)
    g = batch.g if batch.g.dtype == torch.long else batch.g.long()
    counts = counts_in(batch, q).to(like.device)
    # per group first, then one gather: the same products and quotients as q[g] * B /
    # counts[g] element by element, in three ops on G values and one on B
    w = (q * like.numel()).div_(counts.clamp_min(1))
    return w.index_select(0, g.to(like.device)).detach()


@dataclass(frozen=True)
class Scheme(Params):
    """Base class: uniform weights, cross-entropy/MSE loss, no state.

    Hyper-parameters are fields declared with ``workbench.params.param`` (default, range,
    help): ``Params.__post_init__`` validates them, and the CLI and the app read them."""

    mode: ClassVar[str] = "weight"  # "weight" (multiply losses) or "sample" (change draws)
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression", "lm")
    uniform_on_equal_losses: ClassVar[bool] = True  # equal losses -> uniform weights?
    needs_groups: ClassVar[bool] = False
    normalisation: ClassVar[str] = "none"  # a key of NORMALISATIONS
    recorded_state: ClassVar[tuple[str, ...]] = ()  # (G,) state tensors recorded every step
    paper: ClassVar[str] = ""  # citation shown in docs, CLI and app
    formula: ClassVar[str] = ""  # LaTeX for the app's Learn view

    def check_task(self, task: str, dataset: str = "this data set") -> None:
        """Raise a ValueError, before training, if the scheme cannot run on ``task``."""
        if task not in self.tasks:
            raise ValueError(f"scheme {self.name!r} supports {' and '.join(self.tasks)} tasks; "
                             f"data set {dataset!r} is a {task} task")
        if task in ("regression", "lm") and getattr(self, "by", None) == "class":
            raise ValueError(f"scheme {self.name!r} with by='class' needs classes; "
                             f"{dataset!r} is a {task} task: use by='group'")

    def init_state(self, info: TrainInfo) -> State:
        return {}

    def loss(self, outputs: torch.Tensor, y: torch.Tensor, info: TrainInfo) -> torch.Tensor:
        return per_sample_loss(outputs, y, info.task)

    def update(self, losses: torch.Tensor, batch: Batch, state: State, info: TrainInfo) -> State:
        return state

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        return torch.ones_like(losses)

    def objective(self, losses: torch.Tensor, weights: torch.Tensor, outputs: torch.Tensor,
                  batch: Batch) -> torch.Tensor:
        return (weights.detach() * losses).mean()

    def sampling_probs(self, state: State, info: TrainInfo, step: int) -> torch.Tensor | None:
        """Per-sample draw probabilities (sum 1) for ``mode == "sample"``; else None."""
        return None

    # ---- optional hooks: the engine calls them on every scheme; these are the defaults ----
    def prepare(self, ctx, state: State) -> State:
        """Earlier training stages, before the final one: a multi-stage scheme (JTT, DoReMi,
        data pruning) trains them with ``ctx.fit(...)`` and returns the final stage's state.
        Default: none."""
        return state

    @classmethod
    def multi_stage(cls) -> bool:
        """True when the scheme has earlier stages (it overrides ``prepare``): such a run
        trains alone, not as a replica in a batch."""
        return cls.prepare is not Scheme.prepare

    def epoch_size(self, n: int) -> int:
        """How many samples one epoch draws from the ``n`` training samples (RS2 and pruning
        draw fewer, hence fewer steps). Default: all of them."""
        return n

    def epoch_order(self, state: State, info: TrainInfo, epoch: int,
                    gen: torch.Generator) -> torch.Tensor:
        """Training-set positions in the order this epoch visits them. Default: a random
        permutation, or ``info.n`` draws with replacement from ``sampling_probs`` (asked once
        per epoch, at its first step) for ``mode == "sample"``."""
        if self.mode == "sample":
            probs = self.sampling_probs(state, info, epoch * info.steps_per_epoch)
            return torch.multinomial(probs.cpu().double(), info.n, replacement=True,
                                     generator=gen)
        return torch.randperm(info.n, generator=gen)

    def params(self) -> dict:
        return asdict(self)
