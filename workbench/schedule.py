"""Learning-rate schedules, applied at every step of the one training loop.

Why per step: the long-tail recipes (Cao et al., LDAM-DRW, NeurIPS 2019; Menon et al.,
logit adjustment, ICLR 2021) warm the learning rate up linearly over the first epochs and
then decay it at fixed epochs (x0.01 at 160 and again at 180 of 200) or along a cosine;
a per-step factor makes the warm-up smooth and gives every stage of a multi-stage scheme
(``ctx.fit``) its own schedule over its own steps.

``lr_factor`` is the multiplier of ``RunConfig.lr`` at a step (0-based), from the config's
``lr_schedule`` ("constant", "step", "cosine"), ``warmup_epochs``, ``lr_milestones`` and
``lr_gamma``:

- warm-up: during the first W = warmup_epochs x steps_per_epoch steps, (step + 1) / W;
- constant: 1; step: lr_gamma^k, k = milestones reached (epoch index >= milestone, as in
  Cao et al.'s ``adjust_learning_rate``: from epoch 161 on, counting from 1, for 160);
- cosine: 0.5 (1 + cos(pi t)), t the fraction of the steps after the warm-up done
  (Loshchilov and Hutter, SGDR, ICLR 2017, without restarts; ends at 0).

Example:
    >>> from workbench.config import RunConfig
    >>> cfg = RunConfig(lr_schedule="step", warmup_epochs=1, lr_milestones=[2], lr_gamma=0.1)
    >>> [round(lr_factor(cfg, s, steps_per_epoch=2, total_steps=8), 3) for s in range(8)]
    [0.5, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1]
"""

from __future__ import annotations

import math


def lr_factor(cfg, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """The factor on ``cfg.lr`` at ``step`` (see the module docstring)."""
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    if step < warm:
        return (step + 1) / warm
    if cfg.lr_schedule == "step":
        epoch = step // max(steps_per_epoch, 1)
        return float(cfg.lr_gamma) ** sum(epoch >= m for m in cfg.lr_milestones)
    if cfg.lr_schedule == "cosine":
        t = (step - warm) / max(total_steps - warm, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))
    return 1.0


def scheduled(cfg) -> bool:
    """False when the learning rate stays ``cfg.lr`` throughout (the loop then never
    touches the optimiser's learning rate)."""
    return cfg.lr_schedule != "constant" or cfg.warmup_epochs > 0


def set_lr(opt, cfg, step: int, steps_per_epoch: int, total_steps: int) -> None:
    """Set every parameter group's learning rate for ``step``."""
    lr = cfg.lr * lr_factor(cfg, step, steps_per_epoch, total_steps)
    for group in opt.param_groups:
        group["lr"] = lr
