"""Data pruning by early-training scores (Paul et al., NeurIPS 2021).

"Deep Learning on a Data Diet" scores every training sample after a short stretch of
training and drops the easiest ones: EL2N = ||softmax(f(x)) - onehot(y)||_2 (error norm),
GraNd = ||grad_theta l(x, y)||_2 (per-sample gradient norm over all parameters). Scores
are averaged over a few independent scoring runs ("score_seed0", "score_seed1", ... in
``run.stages``). The main stage then trains only on the kept samples: ``epoch_size`` makes
its epochs shorter and ``epoch_order`` draws a permutation of the kept positions.

Example:
    >>> import torch
    >>> el2n_scores(torch.tensor([[0.0, 0.0]]), torch.tensor([0]))  # p = (.5, .5)
    tensor([0.7071])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..params import param
from ..registry import check
from .base import SCHEMES, Scheme, State, TrainInfo
from .jtt import stage_epochs, stage_fraction


def el2n_scores(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """EL2N: L2 norm of the error vector softmax(logits) - onehot(y), per sample."""
    p = torch.softmax(logits.float(), dim=1)
    return (p - F.one_hot(y.long(), p.shape[1]).to(p.dtype)).norm(dim=1)


def grand_scores(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
                 chunk: int | None = None) -> tuple[torch.Tensor, bool]:
    """GraNd: per-sample norm of the cross-entropy gradient over all parameters.

    Uses ``torch.func`` (``functional_call`` + ``vmap(grad)``) in chunks, the model in eval
    mode. Returns (scores, all_parameters): if the model is not functorch-compatible it
    falls back to the last Linear layer's gradient (closed form) and says so with a warning.
    """
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    n_params = sum(v.numel() for v in params.values())
    chunk = chunk or max(1, min(1024, 2 ** 24 // max(n_params, 1)))

    def loss_one(p, x, t):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return F.cross_entropy(out, t.unsqueeze(0))

    per_sample = vmap(grad(loss_one), in_dims=(None, 0, 0))
    was_training = model.training
    model.eval()
    try:
        norms = []
        for i in range(0, len(X), chunk):
            grads = per_sample(params, X[i:i + chunk], y[i:i + chunk])
            sq = sum(g.reshape(g.shape[0], -1).pow(2).sum(1) for g in grads.values())
            norms.append(sq.sqrt())
        return torch.cat(norms), True
    except (RuntimeError, NotImplementedError, TypeError) as err:
        warnings.warn(f"GraNd: model is not functorch-compatible ({err}); scoring with the "
                      "last layer's gradient only", stacklevel=2)
        return last_layer_grand(model, X, y), False
    finally:
        model.train(was_training)


@torch.no_grad()
def last_layer_grand(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient norm w.r.t. the final Linear layer: ||p - onehot|| sqrt(||h||^2 + 1)."""
    check(isinstance(model, torch.nn.Sequential) and isinstance(model[-1], torch.nn.Linear),
          "GraNd's last-layer fallback needs an nn.Sequential ending in nn.Linear, "
          f"got {type(model).__name__}")
    h = model[:-1](X) if len(model) > 1 else X
    err = el2n_scores(model[-1](h), y)
    bias = 1.0 if model[-1].bias is not None else 0.0
    return err * (h.pow(2).sum(1) + bias).sqrt()


@dataclass(frozen=True)
class _Pruning(Scheme):
    """Shared by ``el2n`` and ``grand``: score, drop the extremes, train on the rest."""

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    uniform_on_equal_losses: ClassVar[bool] = True  # loss weights are always uniform
    paper: ClassVar[str] = ("Paul, Ganguli and Dziugaite, Deep Learning on a Data Diet: Finding "
                            "Important Examples Early in Training, NeurIPS 2021")
    prune: float = param(0.3, low=0, high=1, closed="left", noun="a fraction",
                         help="Fraction of the training set dropped from the easy end "
                              "(lowest scores).")
    prune_hard: float = param(0.0, low=0, high=1, closed="left", noun="a fraction",
                              help="Fraction dropped from the hard end (highest scores: "
                                   "often mislabelled).")
    score_epochs: float = stage_fraction(0.1, "Training before the scores are taken, as a "
                                              "fraction of the run's epochs.")
    score_seeds: int = param(2, low=1, high=10, help="Independent scoring runs averaged.")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require(self.prune + self.prune_hard < 1, "prune",
                     f"{self.name} prune + prune_hard must be < 1 (something must be kept), "
                     f"got {self.prune} + {self.prune_hard}")

    def counts(self, n: int) -> tuple[int, int]:
        """(easy, hard) numbers of samples to drop from n: rounded, at least one kept."""
        easy = min(round(self.prune * n), max(n - 1, 0))
        hard = min(round(self.prune_hard * n), max(n - 1 - easy, 0))
        return easy, hard

    def epoch_size(self, n: int) -> int:
        """Kept samples per epoch, from n and the fractions alone (called before prepare)."""
        easy, hard = self.counts(n)
        return n - easy - hard

    def init_state(self, info: TrainInfo) -> State:
        return {"scores": torch.zeros(info.n, device=info.y.device),
                "kept": torch.ones(info.n, dtype=torch.bool, device=info.y.device)}

    def score(self, ctx, model: torch.nn.Module) -> tuple[torch.Tensor, dict]:  # pragma: no cover
        """(per-sample scores (N,), extra report entries) of one scoring model."""
        raise NotImplementedError

    def prepare(self, ctx, state: State) -> State:
        """Score with ``score_seeds`` short uniform runs, keep all but the extremes."""
        epochs = stage_epochs(self.score_epochs, ctx.config.epochs)
        runs = [ctx.fit("uniform", epochs=epochs, seed=ctx.config.seed + 1 + s,
                        stage=f"score_seed{s}") for s in range(self.score_seeds)]
        scored = [self.score(ctx, r.model) for r in runs]
        scores = torch.stack([s for s, _ in scored]).mean(0)
        n = scores.numel()
        easy, hard = self.counts(n)
        order = torch.sort(scores.cpu(), stable=True).indices  # ties: lower position first
        kept = torch.ones(n, dtype=torch.bool)
        kept[order[:easy]] = False
        kept[order[n - hard:]] = False  # empty slice when hard == 0
        report = {"kept": (n - easy - hard) / n, "pruned_easy": easy / n,
                  "pruned_hard": hard / n, "score_epochs": float(epochs)}
        for _, extra in scored:
            report.update(extra)
        return {**state, "scores": scores, "kept": kept.to(scores.device), "report": report}

    def epoch_order(self, state: State, info: TrainInfo, epoch: int,
                    generator: torch.Generator) -> torch.Tensor:
        """A fresh permutation of the kept positions (before prepare: a random subset of
        ``epoch_size`` positions, so the engine still runs the planned number of steps)."""
        kept = torch.nonzero(state["kept"].cpu()).squeeze(1)
        perm = kept[torch.randperm(len(kept), generator=generator)]
        return perm[:self.epoch_size(info.n)]


@SCHEMES.register("el2n")
@dataclass(frozen=True)
class EL2N(_Pruning):
    """EL2N data pruning (Paul et al., NeurIPS 2021): drop samples with a small early error.

    Each sample's score is ||softmax(f(x)) - onehot(y)||_2 under the model of a uniform run
    stopped after ``score_epochs`` x the run's epochs (rounded, at least 1), averaged over
    ``score_seeds`` runs (stages "score_seed0", ...). The lowest-scoring fraction ``prune``
    (easy, redundant) and optionally the highest ``prune_hard`` (often mislabelled) are
    dropped; the main stage trains on the rest with uniform weights, a new permutation per
    epoch (so epochs are shorter: fewer steps). State: ``scores`` (N,), ``kept`` (N,) bool,
    ``report`` (kept / pruned_easy / pruned_hard fractions, score_epochs).
    Our choices: scoring run s uses seed run_seed + 1 + s and the run's optimiser; counts
    are round(fraction x N), at least one sample kept; ties drop the lower position first;
    until ``prepare`` runs every sample is eligible (a random ``epoch_size`` subset each
    epoch). Paper: ~10% of the budget (epoch 20 of 200 on CIFAR-10), 10 initialisations;
    defaults here: 10% of the run, 2 seeds.

    Example:
        >>> EL2N(prune=0.5).epoch_size(10)
        5
    """

    formula: ClassVar[str] = (r"\mathrm{EL2N}(x, y) = \mathbb{E}_{\theta_t}\,"
                              r"\lVert \mathrm{softmax}(f_{\theta_t}(x)) - e_y \rVert_2")

    def score(self, ctx, model: torch.nn.Module) -> tuple[torch.Tensor, dict]:
        return el2n_scores(ctx.outputs(model, "train"), ctx.splits["train"].y), {}


@SCHEMES.register("grand")
@dataclass(frozen=True)
class GraNd(_Pruning):
    """GraNd data pruning (Paul et al., NeurIPS 2021): drop samples with a small early gradient.

    Like ``el2n`` but the score is the per-sample gradient norm ||grad_theta l(x, y)||_2 over
    ALL parameters of the scoring model, computed with ``torch.func`` (vmap of grad) in
    chunks, averaged over ``score_seeds`` runs ("score_seed0", ...). State and report as
    ``el2n``; the report adds ``grand_all_parameters`` (1.0, or 0.0 when the model was not
    functorch-compatible and only the last Linear layer's gradient was used, with a warning).
    Our choices: as ``el2n``; the paper scores at initialisation as well, we score after
    ``score_epochs`` (the early-training variant); the model is in eval mode while scoring.

    Example:
        >>> GraNd(prune=0.2, prune_hard=0.1).epoch_size(100)
        70
    """

    formula: ClassVar[str] = (r"\mathrm{GraNd}(x, y) = \mathbb{E}_{\theta_t}\,"
                              r"\lVert \nabla_\theta \ell(f_{\theta_t}(x), y) \rVert_2")

    def score(self, ctx, model: torch.nn.Module) -> tuple[torch.Tensor, dict]:
        tr = ctx.splits["train"]
        scores, full = grand_scores(model, tr.X, tr.y)
        return scores, {"grand_all_parameters": float(full)}
