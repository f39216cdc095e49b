"""DoReMi domain reweighting (Xie et al., NeurIPS 2023).

Domains are the data set's groups. Three stages, all in one run record:

1. "doremi_reference": a reference model trained with uniform weights (the natural mixture);
   its per-sample training losses l_ref are kept.
2. "doremi_proxy": a fresh proxy model trained with Group DRO over domains on the *excess*
   loss max(l_proxy - l_ref, 0). The domain weights alpha follow
   alpha <- normalise(alpha * exp(eta * per-domain mean excess loss)), then
   (1 - c) alpha + c u (u uniform over domains), and are recorded at every step
   (metric "alpha" per group in ``run.stages``: the trajectory shows a collapse to one-hot).
3. The final domain weights are the average of alpha over the proxy's steps.
4. The main stage resamples: sample i is drawn with probability alpha_{g_i} / n_{g_i}.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.zeros(4).long(),
    ...                  g=torch.tensor([0, 0, 0, 1]), n_classes=1, n_groups=2, total_steps=10)
    >>> DoReMiProxy().init_state(info)["alpha"]
    tensor([0.5000, 0.5000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import (
    SCHEMES,
    Batch,
    Scheme,
    State,
    TrainInfo,
    counts_in,
    group_objective_weights,
    per_sample_loss,
)
from .float32 import HUGE, TINY
from .jtt import stage_epochs, stage_fraction

PAPER = ("Xie et al., DoReMi: Optimizing Data Mixtures Speeds Up Language Model Pretraining, "
         "NeurIPS 2023")


def domain_prior(info: TrainInfo) -> torch.Tensor:
    """u: uniform over the domains (groups) that have training samples, 0 elsewhere, (G,)."""
    present = (info.group_counts > 0).to(torch.float32).to(info.g.device)
    return present / present.sum()


def eta_param():
    return param(1.0, low=0, typical=(0.0, 1.0, 0.01), float32=(0.0, HUGE, "alpha is updated in "
                                                          "float32"),
                 help="Step size of the exponentiated-gradient update of the domain weights.")


def smoothing_param():
    return param(1e-3, low=0, high=1, help="Mixing weight c of the uniform prior u in the "
                                           "domain weights: (1 - c) alpha + c u.")


@dataclass(frozen=True)
class DoReMiProxy(Scheme):
    """DoReMi's proxy stage (not registered): Group DRO over domains on the excess loss.

    State: ``alpha`` (G,) domain weights (recorded every step), ``ref_loss`` (N,) the
    reference model's per-sample losses, ``alpha_sum`` (G,) float64 running sum of alpha
    over updates and ``updates`` (count), so the final weights are ``alpha_sum / updates``.
    ``update``: lambda_g = mean over the batch's samples of domain g of max(l - l_ref, 0)
    (0 for domains absent from the batch), alpha' = softmax(log alpha + eta lambda),
    alpha = (1 - c) alpha' + c u. ``weights``: w_i = alpha_{g_i} B / m_{g_i}, as Group DRO
    (the model minimises sum_g alpha_g lbar_g: the domain's plain loss, weighted, as in the
    authors' code). Our choices: u and alpha's start are uniform over the domains present
    in the training set; a batch with a non-finite loss leaves alpha unchanged; eta lambda
    is clamped at the largest float32 and alpha (of domains with training samples) at the
    smallest normal one, so a large eta, or smoothing 0, never freezes or zeroes alpha.

    Example:
        >>> DoReMiProxy(eta=0.5).params()
        {'eta': 0.5, 'smoothing': 0.001}
    """

    name: ClassVar[str] = "doremi_proxy"  # not registered: a stage of ``doremi``
    needs_groups: ClassVar[bool] = True
    recorded_state: ClassVar[tuple[str, ...]] = ("alpha",)
    uniform_on_equal_losses: ClassVar[bool] = False
    normalisation: ClassVar[str] = "group"
    paper: ClassVar[str] = PAPER
    formula: ClassVar[str] = (r"\alpha \leftarrow (1-c)\,\frac{\alpha \odot e^{\eta \lambda}}"
                              r"{\lVert \alpha \odot e^{\eta \lambda} \rVert_1} + \frac{c}{k}")
    eta: float = eta_param()
    smoothing: float = smoothing_param()

    def init_state(self, info: TrainInfo) -> State:
        u = domain_prior(info)
        return {"alpha": u, "ref_loss": torch.zeros(info.n, device=u.device),
                "alpha_sum": torch.zeros(info.n_groups, dtype=torch.float64, device=u.device),
                "updates": torch.zeros((), device=u.device)}

    def update(self, losses: torch.Tensor, batch: Batch, state: State, info: TrainInfo) -> State:
        alpha = state["alpha"]
        ref = state["ref_loss"].to(alpha.device)[batch.idx.to(alpha.device)]
        excess = (losses.detach().to(alpha.device, alpha.dtype) - ref).clamp_min(0)
        sums = torch.zeros_like(alpha).index_add_(0, batch.g.long().to(alpha.device), excess)
        if not torch.isfinite(sums).all():  # a non-finite loss: alpha unchanged
            return dict(state)
        # eta lambda may overflow float32 for finite eta and losses: clamped (log alpha <= 0
        # keeps the softmax finite); alpha clamped at the smallest normal float, as Group DRO
        step = (self.eta * sums / counts_in(batch, alpha).clamp_min(1)).clamp_(max=HUGE)
        u = domain_prior(info).to(alpha.device)
        new = torch.softmax(torch.log(alpha) + step, dim=0)
        new = (1 - self.smoothing) * new + self.smoothing * u
        new = torch.where(u > 0, new.clamp(min=TINY), new)  # empty domains keep 0
        return {**state, "alpha": new, "alpha_sum": state["alpha_sum"] + new.double(),
                "updates": state["updates"] + 1}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        return group_objective_weights(state["alpha"], batch, losses)


@SCHEMES.register("doremi")
@dataclass(frozen=True)
class DoReMi(Scheme):
    """DoReMi (Xie et al., NeurIPS 2023): learn domain weights with a small proxy, then resample.

    Domains are the data set's groups. Stage "doremi_reference" trains a uniform model for
    ``ref_epochs`` x the run's epochs; stage "doremi_proxy" trains ``DoReMiProxy`` (Group DRO
    on the excess loss over the reference, step size ``eta``, smoothing ``smoothing`` = c)
    for ``proxy_epochs`` x the run's epochs, its domain weights alpha recorded every step
    (metric "alpha" in ``run.stages``); the final weights are the mean of alpha over those
    steps. The main stage draws sample i with probability alpha_{g_i} / n_{g_i} (loss
    weights uniform). State: ``domain_weights`` (G,), ``probs`` (N,), and after ``prepare``
    a ``report`` with ``domain_weight_<group>`` per group, ``max_domain_weight`` and
    ``proxy_steps``. Paper: c = 1e-3, eta = 1, reference and proxy as long as the main run.
    Our choices: shorter reference/proxy stages (30% of the run each by default), every
    stage starts from the run's seed; the reference losses are those of the reference
    model at its end; until ``prepare`` runs the weights are the natural mixture (every
    sample 1/N). A collapse of alpha to one domain is shown (the trajectory), not prevented.

    Example:
        >>> DoReMi(eta=0.5).params()
        {'eta': 0.5, 'smoothing': 0.001, 'ref_epochs': 0.3, 'proxy_epochs': 0.3}
    """

    mode: ClassVar[str] = "sample"
    needs_groups: ClassVar[bool] = True
    uniform_on_equal_losses: ClassVar[bool] = True  # loss weights are always uniform
    paper: ClassVar[str] = PAPER
    formula: ClassVar[str] = (r"\bar\alpha = \frac{1}{T}\sum_t \alpha_t,\quad "
                              r"P(i) = \frac{\bar\alpha_{g_i}}{n_{g_i}}")
    eta: float = eta_param()
    smoothing: float = smoothing_param()
    ref_epochs: float = stage_fraction(0.3, "Length of the reference model's training, as a "
                                            "fraction of the run's epochs.")
    proxy_epochs: float = stage_fraction(0.3, "Length of the proxy stage (Group DRO on the "
                                              "excess loss), as a fraction of the run's epochs.")

    def init_state(self, info: TrainInfo) -> State:
        counts = info.group_counts.to(info.g.device)
        return {"domain_weights": counts / counts.sum(),
                "probs": torch.full((info.n,), 1.0 / info.n, device=info.g.device)}

    def prepare(self, ctx, state: State) -> State:
        """Reference stage, proxy stage, then the averaged domain weights for resampling."""
        tr, task, run_epochs = ctx.splits["train"], ctx.data.task, ctx.config.epochs
        ref = ctx.fit("uniform", epochs=stage_epochs(self.ref_epochs, run_epochs),
                      stage="doremi_reference")
        ref_loss = per_sample_loss(ctx.outputs(ref.model, "train"), tr.y, task).float()
        proxy = DoReMiProxy(eta=self.eta, smoothing=self.smoothing)
        epochs = stage_epochs(self.proxy_epochs, run_epochs)
        start = {**proxy.init_state(ctx.info(epochs, proxy)), "ref_loss": ref_loss}
        result = ctx.fit(proxy, state=start, epochs=epochs, stage="doremi_proxy")
        end = result.state
        steps = int(end["updates"])
        final = (end["alpha_sum"] / steps if steps else end["alpha"].double()).float()
        counts = torch.bincount(tr.g, minlength=final.numel()).to(final)
        probs = (final / counts.clamp_min(1))[tr.g]
        probs = probs / probs.sum()
        report = {f"domain_weight_{name}": float(final[k])
                  for k, name in enumerate(ctx.data.group_names)}
        report |= {"max_domain_weight": float(final.max()), "proxy_steps": float(steps)}
        return {**state, "domain_weights": final, "probs": probs, "report": report}

    def sampling_probs(self, state: State, info: TrainInfo, step: int) -> torch.Tensor:
        return state["probs"]
