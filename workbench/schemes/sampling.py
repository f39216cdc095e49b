"""Sampling schemes: change what is drawn, not the loss.

A sampling scheme has ``mode = "sample"``: its ``weights`` are uniform and the engine draws
training samples with the per-sample probabilities of ``sampling_probs(state, info, step)``,
an (N,) tensor summing to 1 (``temperature_sampling`` computes it once in ``init_state`` and
keeps it in the state under ``"probs"``; ``cooldown`` recomputes it from the step, as its
temperature falls during training).

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.tensor([0, 0, 0, 1]),
    ...                  g=torch.zeros(4).long(), n_classes=2, n_groups=1, total_steps=10)
    >>> s = TemperatureSampling(tau=1e9)
    >>> s.sampling_probs(s.init_state(info), info, step=0)
    tensor([0.1667, 0.1667, 0.1667, 0.5000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Scheme, State, TrainInfo
from .static import by_param, train_counts


def temperature_mass(counts: torch.Tensor, tau: float) -> torch.Tensor:
    """q_c proportional to (n_c / N)^(1/tau) over non-empty keys (0 for empty), sum 1.

    Computed in log-space in float64, so tiny tau (q -> one-hot on the largest class) and
    huge or infinite tau (q -> uniform over non-empty classes) stay finite.
    """
    c64 = counts.to(torch.float64)
    log_share = torch.log(c64.clamp_min(1) / c64.sum())
    logits = torch.where(c64 > 0, log_share / tau, torch.full_like(c64, float("-inf")))
    return torch.softmax(logits, dim=0)


def temperature_probs(counts: torch.Tensor, keys: torch.Tensor, tau: float) -> torch.Tensor:
    """Per-sample draw probabilities q_{c(i)} / n_{c(i)}, (N,), float32, summing to 1."""
    q = temperature_mass(counts, tau)
    per_key = q / counts.to(torch.float64).clamp_min(1)
    probs = per_key[keys]
    return (probs / probs.sum()).to(torch.float32)


@SCHEMES.register("temperature_sampling")
@dataclass(frozen=True)
class TemperatureSampling(Scheme):
    """Temperature sampling: draw class (or group) c with q_c proportional to (n_c / N)^(1/tau).

    Each sample of c is drawn with probability q_c / n_c. tau = 1 is natural sampling
    (every sample 1/N), tau -> inf gives every non-empty class the same mass (class-balanced
    "upsampling"), tau < 1 sharpens towards the largest class. Li et al. (NAACL 2025) show that
    under full-batch gradient descent this equals loss weighting with w_c = q_c N / n_c
    (``equivalent_weights``), while with SGD sampling has lower gradient variance, converges
    faster and over-fits the rare classes sooner. Our choices: tau >= 1e-3 (float("inf")
    allowed), empty classes get no mass, ``by="group"`` applies the rule to groups; the
    probabilities are precomputed in ``init_state`` and stored as ``state["probs"]`` (N,)
    and ``state["mass"]`` (K,).

    Example:
        >>> TemperatureSampling(tau=2.0, by="group").params()
        {'tau': 2.0, 'by': 'group'}
    """

    mode: ClassVar[str] = "sample"
    uniform_on_equal_losses: ClassVar[bool] = True  # loss weights are always uniform
    paper: ClassVar[str] = ("Li, Xu, Tan, Murray and Khashabi, Upsample or Upweight? Balanced "
                            "Training on Heavily Imbalanced Datasets, NAACL 2025 "
                            "(arXiv 2410.04579)")
    formula: ClassVar[str] = (r"P(i) = \frac{q_{c(i)}}{n_{c(i)}},\quad q_c \propto "
                              r"\left(\frac{n_c}{N}\right)^{1/\tau}")
    tau: float = param(1.0, low=1e-3, finite=False, log=True, typical=(0.25, 10.0, 0.25),
                       help="Sampling temperature: 1 natural sampling, large tau (up to inf) "
                            "class-balanced.")
    by: str = by_param("Sample")

    def init_state(self, info: TrainInfo) -> State:
        counts, keys = train_counts(self.name, self.by, info)
        return {"probs": temperature_probs(counts, keys, float(self.tau)),
                "mass": temperature_mass(counts, float(self.tau)).to(torch.float32)}

    def sampling_probs(self, state: State, info: TrainInfo, step: int) -> torch.Tensor:
        return state["probs"]

    def equivalent_weights(self, info: TrainInfo) -> torch.Tensor:
        """Loss weights w_i = q_{c(i)} N / n_{c(i)}, (N,), mean 1 over the training set.

        Full-batch gradient descent on mean_i(w_i l_i) follows the same gradient as the
        expected gradient under sampling with ``sampling_probs``.
        """
        counts, keys = train_counts(self.name, self.by, info)
        q = temperature_mass(counts, float(self.tau))
        per_key = q * info.n / counts.to(torch.float64).clamp_min(1)
        return per_key[keys].to(torch.float32)


SCHEDULES = ("linear", "cosine")


@SCHEMES.register("cooldown")
@dataclass(frozen=True)
class Cooldown(Scheme):
    """Temperature sampling whose tau cools from ``tau_start`` to ``tau_end`` during training.

    Li et al., NAACL 2025 ("reduce the sampling temperature during training"): a high tau early
    (near class-balanced draws) gives the rare classes fast convergence, a low tau late
    (near natural draws) stops the model from over-fitting their few samples. At step t,
    with fraction f = min(1, t / max(1, T - S)) (T total steps, S steps per epoch):
    linear tau = tau_start + (tau_end - tau_start) f; cosine
    tau = tau_end + (tau_start - tau_end) (1 + cos(pi f)) / 2. Then each class (or group)
    c is drawn with q_c proportional to (n_c / N)^(1/tau), as in ``temperature_sampling``.
    The engine asks ``sampling_probs`` once per epoch, at the epoch's first step, so tau is
    piecewise constant over epochs: our choice of T - S as the end of the schedule makes
    the first epoch draw at exactly tau_start and the last at exactly tau_end. Other
    choices: both taus finite and >= 1e-3 (the schedule is linear in tau, not in 1/tau);
    the state is empty, the probabilities are recomputed from the step.

    Example:
        >>> Cooldown(tau_start=100.0, schedule="cosine").params()
        {'tau_start': 100.0, 'tau_end': 1.0, 'by': 'class', 'schedule': 'cosine'}
    """

    mode: ClassVar[str] = "sample"
    uniform_on_equal_losses: ClassVar[bool] = True  # loss weights are always uniform
    paper: ClassVar[str] = TemperatureSampling.paper
    formula: ClassVar[str] = (r"\tau_t = \tau_{\mathrm{start}} + (\tau_{\mathrm{end}} - "
                              r"\tau_{\mathrm{start}})\,\frac{t}{T - S},\quad P_t(i) = "
                              r"\frac{q_{c(i)}(\tau_t)}{n_{c(i)}}")
    tau_start: float = param(10.0, low=1e-3, log=True,
                             help="Sampling temperature at the start (large: class-balanced).")
    tau_end: float = param(1.0, low=1e-3, log=True,
                           help="Sampling temperature at the end (1: natural sampling).")
    by: str = by_param("Sample")
    schedule: str = param("linear", choices=SCHEDULES,
                          help="How tau moves from tau_start to tau_end over training.")

    def tau_at(self, step: int, info: TrainInfo) -> float:
        """The temperature used at ``step`` (see the class docstring for the schedule)."""
        span = max(1, info.total_steps - info.steps_per_epoch)
        f = min(1.0, max(0.0, step / span))
        if self.schedule == "cosine":
            f = (1 - math.cos(math.pi * f)) / 2
        return float(self.tau_start + (self.tau_end - self.tau_start) * f)

    def sampling_probs(self, state: State, info: TrainInfo, step: int) -> torch.Tensor:
        counts, keys = train_counts(self.name, self.by, info)
        return temperature_probs(counts, keys, self.tau_at(step, info))
