"""The recorder: what the app shows, captured at every step without per-sample Python work.

Per step it keeps, in preallocated device tensors of shape (steps, groups) and
(steps, classes), the batch share, mean loss and mean weight of each group and class,
plus weight diagnostics (ESS, max/min, entropy) of the batch weights. For a tracked
subset of training samples (stratified by group, default 256) it keeps the loss and
weight each time the sample is in a batch. Memory is O(steps x (groups + classes) +
tracked x epochs): it never grows with N x steps.

Example:
    >>> import torch
    >>> picks = stratified_subset(torch.tensor([0, 0, 0, 1]), 2, seed=0)
    >>> sorted(picks.tolist())[-1]
    3
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .callbacks import Callback, StepRecord
from .run import HISTORY_COLUMNS, WEIGHT_COLUMNS

DIAGNOSTICS = ("ess", "max_min_ratio", "entropy", "objective", "loss")


def stratified_subset(g: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """About k positions, split evenly over groups (small groups give all they have)."""
    g_np = g.cpu().numpy()
    rng = np.random.default_rng(seed)
    groups = np.unique(g_np)
    picks, budget = [], k
    for i, grp in enumerate(sorted(groups, key=lambda v: (g_np == v).sum())):
        members = np.flatnonzero(g_np == grp)
        take = min(len(members), budget // (len(groups) - i))
        picks.append(rng.choice(members, size=take, replace=False))
        budget -= take
    return torch.as_tensor(np.sort(np.concatenate(picks)), dtype=torch.long)


class Recorder(Callback):
    def __init__(self, n_train: int, g: torch.Tensor, n_groups: int, n_classes: int,
                 total_steps: int, steps_per_epoch: int, track: int, seed: int,
                 state_keys: tuple[str, ...] = ()):
        dev = g.device
        self.state_keys = state_keys  # (G,) scheme-state vectors, e.g. Group DRO's q
        # kept by reference, stacked when read: schemes return new state tensors (the
        # contract tests check that no scheme mutates its state), so no per-step copy
        self.state_rows: list[list[torch.Tensor]] = [[] for _ in state_keys]
        self.n_groups, self.n_classes, self.spe = n_groups, n_classes, steps_per_epoch
        self.steps = 0
        G = n_groups
        # per step: count, loss sum and weight sum of every group, then of every class
        self.stats = torch.zeros((total_steps, 3, G + n_classes), device=dev)
        self.g_stats = self.stats[:, :, :G].transpose(0, 1)  # (3, steps, G) views
        self.c_stats = (self.stats[:, :, G:].transpose(0, 1) if n_classes
                        else torch.zeros((3, total_steps, 1), device=dev))
        # per step: n, sum loss, sum w, sum w^2, sum w log w, min w, max w, objective;
        # the diagnostics (ESS, max/min, entropy) are formed from these sums when read
        self.raw = torch.zeros((total_steps, 8), device=dev)
        self._diag: torch.Tensor | None = None  # set directly by BatchedRecorder
        self.tracked = stratified_subset(g, min(track, n_train), seed).to(dev)
        self.slot = torch.full((n_train,), -1, dtype=torch.long, device=dev)
        self.slot[self.tracked] = torch.arange(len(self.tracked), device=dev)
        self.sample_rows: list[torch.Tensor] = []

    def on_step(self, rec: StepRecord) -> None:
        # about two dozen whole-batch ops: this runs every step of every run
        t, losses, w = rec.step, rec.losses, rec.weights
        m = torch.stack([torch.ones_like(losses), losses, w, w * w, torch.special.xlogy(w, w)])
        if self.n_classes:
            keys = torch.cat([rec.g.long(), rec.y.long() + self.n_groups])
            self.stats[t].index_add_(1, keys, m[:3].repeat(1, 2))
        else:
            self.stats[t].index_add_(1, rec.g.long(), m[:3])
        self.raw[t] = torch.cat([m.sum(1), torch.stack(torch.aminmax(w)),
                                 rec.objective.detach().reshape(1)]).to(self.raw.dtype)
        for rows, k in zip(self.state_rows, self.state_keys):
            rows.append(rec.state[k])
        if self.tracked.numel():
            slots = self.slot[rec.idx]
            rows = torch.stack([torch.full_like(losses, t), slots.to(losses.dtype),
                                losses, w])[:, slots >= 0]
            self.sample_rows.append(rows)
        self.steps = t + 1

    @property
    def diag(self) -> torch.Tensor:
        """(steps, 5): ESS, max/min ratio, entropy, objective and mean loss of each step.

        Same definitions as ``metrics.weight_diagnostics`` (Kish ESS as a fraction of the
        batch; entropy of p = w / sum w, here log(sum w) - sum(w log w) / sum w).
        """
        if self._diag is not None:
            return self._diag
        n, loss_sum, s1, s2, wlogw, lo, hi, objective = self.raw.unbind(1)
        ratio = torch.where(lo > 0, hi / torch.where(lo > 0, lo, torch.ones_like(lo)),
                            torch.full_like(hi, float("inf")))
        entropy = (torch.log(s1) - wlogw / s1).clamp_min(0.0)
        return torch.stack([s1 * s1 / s2 / n, ratio, entropy, objective, loss_sum / n], 1)

    @diag.setter
    def diag(self, value: torch.Tensor) -> None:
        self._diag = value

    @property
    def state_log(self) -> torch.Tensor:
        """(keys, steps, groups): the recorded scheme-state vectors, float32 on the CPU."""
        if not self.state_rows or not self.state_rows[0]:
            return torch.zeros((len(self.state_keys), 0, self.n_groups))
        return torch.stack([torch.stack(rows) for rows in self.state_rows]).detach().float().cpu()

    # ---- tidy frames ------------------------------------------------------------
    def history(self, group_names: list[str], class_names: list[str]) -> pd.DataFrame:
        """Tidy per-step records; the columns are gathered as arrays and framed once."""
        T, parts = self.steps, []
        steps = np.arange(T)
        parts += self._tidy(self.g_stats[:, :T], group_names, steps)
        if class_names:
            parts += self._tidy(self.c_stats[:, :T], [f"class:{c}" for c in class_names], steps)
        for j, key in enumerate(self.state_keys):
            log = self.state_log[j, :T].cpu().numpy()
            parts.append((np.repeat(steps, log.shape[1]),
                          np.tile(np.asarray(group_names, dtype=object), T), key,
                          log.reshape(-1)))
        diag = self.diag[:T].cpu().numpy()
        parts += [(steps, np.full(T, "all", dtype=object), name, diag[:, j])
                  for j, name in enumerate(DIAGNOSTICS)]
        step = np.concatenate([p[0] for p in parts])
        out = pd.DataFrame({
            "step": step, "epoch": step // self.spe, "split": "train_batch",
            "group": np.concatenate([p[1] for p in parts]),
            "metric": np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts]),
            "value": np.concatenate([np.asarray(p[3], dtype=np.float64) for p in parts])})
        return out[HISTORY_COLUMNS]

    @staticmethod
    def _tidy(stats: torch.Tensor, names: list[str], steps: np.ndarray) -> list[tuple]:
        """(steps, names, metric, values) of share, mean loss and mean weight per key."""
        count, loss_sum, w_sum = stats.cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {"share": count / np.maximum(count.sum(1, keepdims=True), 1),
                      "loss": loss_sum / count, "weight": w_sum / count}
        names_arr, parts = np.asarray(names, dtype=object), []
        for metric, arr in values.items():
            present = count > 0 if metric != "share" else np.ones_like(count, bool)
            t_idx, k_idx = np.nonzero(present)
            parts.append((steps[t_idx], names_arr[k_idx], metric, arr[t_idx, k_idx]))
        return parts

    def weights(self, ids: torch.Tensor, y: torch.Tensor, g: torch.Tensor,
                noisy: torch.Tensor, group_names: list[str]) -> pd.DataFrame:
        if not self.sample_rows:
            return pd.DataFrame(columns=WEIGHT_COLUMNS)
        rows = torch.cat(self.sample_rows, dim=1).cpu().numpy()
        pos = self.tracked.cpu().numpy()[rows[1].astype(np.int64)]
        label = y.cpu().numpy()[pos]
        return pd.DataFrame({
            "step": rows[0].astype(np.int64), "epoch": rows[0].astype(np.int64) // self.spe,
            "sample_id": ids.cpu().numpy()[pos],
            "label": label, "group": np.asarray(group_names)[g.cpu().numpy()[pos]],
            "noisy": noisy.cpu().numpy()[pos], "loss": rows[2], "weight": rows[3],
        })[WEIGHT_COLUMNS]
