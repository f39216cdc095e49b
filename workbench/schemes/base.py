"""The contract every weighting scheme follows, and the helpers they share.

A scheme is a small, pure unit: a frozen dataclass of hyper-parameters validated in
``__post_init__``, with its mutable state passed in and returned (a dict of tensors),
never a model or an optimizer inside. Following WILDS's Group DRO, the *objective*
(``weights`` and ``objective``) is kept apart from the *update* of the state.

The engine calls, at every step::

    losses = scheme.loss(outputs, y, info)                  # per-sample, with gradient
    state = scheme.update(losses.detach(), batch, state, info)
    w = scheme.weights(losses.detach(), batch, state, info)  # detached, >= 0, mean 1
    total = scheme.objective(losses, w, outputs, batch)       # default mean(w * l)

Sampling schemes (``mode = "sample"``) return uniform weights and instead give the
probability of drawing each training sample from ``sampling_probs``.

Example:
    >>> import torch
    >>> normalise(torch.tensor([1.0, 3.0]))
    tensor([0.5000, 1.5000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..registry import Registry

SCHEMES = Registry("scheme")
State = dict[str, torch.Tensor]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def normalise(w: torch.Tensor) -> torch.Tensor:
    """Rescale weights to batch mean 1; all-zero weights become uniform."""
    total = w.sum()
    if not torch.isfinite(total) or total <= 0:
        return torch.ones_like(w)
    return w * (w.numel() / total)


@dataclass(frozen=True)
class Scheme:
    """Base class: uniform weights, cross-entropy/MSE loss, no state."""

    mode: ClassVar[str] = "weight"  # "weight" (multiply losses) or "sample" (change draws)
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression", "lm")
    uniform_on_equal_losses: ClassVar[bool] = True  # equal losses -> uniform weights?
    needs_groups: ClassVar[bool] = False
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

    def params(self) -> dict:
        from dataclasses import asdict

        return asdict(self)
