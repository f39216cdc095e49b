"""The recorder: what the app shows, captured at every step without per-sample Python work.

One recorder serves R >= 1 replicas trained together (a single run is R = 1): every step
costs the same handful of tensor ops whatever R is. Per step and replica it keeps, in
preallocated device tensors, the batch share, mean loss and mean weight of each group and
class, plus weight diagnostics (ESS, max/min, entropy) of the batch weights. For a tracked
subset of training samples (stratified by group, default 256) it keeps the loss and
weight each time the sample is in a batch. Memory is O(R x (steps x (groups + classes) +
tracked x epochs)): it never grows with N x steps. ``view(r)`` gives replica r's records
as the tidy frames of one run; ``histories`` and ``weight_frames`` build the frames of
several replicas as one table each (``record_frames``).

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

from .metrics.weights import diagnostics_from_sums
from .record_frames import history_frames, weight_frames


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


class Recorder:
    """Per-step records of R replicas, each (steps, replicas, ...) in preallocated tensors.

    ``seeds`` and ``state_keys`` hold one entry per replica (its tracked-sample draw and
    its scheme's ``recorded_state``); ``y`` and ``g`` are the training split's labels and
    groups. ``on_step`` only keeps references to the step's tensors; every ``chunk`` steps
    (and before anything is read) ``flush`` turns them into records with one set of tensor
    ops for the whole chunk, so recording costs a few operations per chunk, not per step.
    """

    def __init__(self, y: torch.Tensor, g: torch.Tensor, n_groups: int, n_classes: int,
                 total_steps: int, steps_per_epoch: int, track: int, seeds: list[int],
                 state_keys: list[tuple[str, ...]], chunk: int = 64):
        dev, R, n_train = g.device, len(seeds), len(g)
        self.R, self.n_groups, self.n_classes, self.spe = R, n_groups, n_classes, steps_per_epoch
        self.y, self.g, self.chunk = y, g, chunk
        self.state_keys = list(state_keys)  # (G,) scheme-state vectors, e.g. Group DRO's q
        # kept by reference, stacked when read: schemes return new state tensors (the
        # contract tests check that no scheme mutates its state), so no per-step copy
        self.state_rows = [[[] for _ in keys] for keys in self.state_keys]
        self.steps = [0] * R
        self.K = n_groups + n_classes
        # per step and replica: count, loss sum and weight sum of every group, then class
        self.stats = torch.zeros((total_steps, 3, R, self.K), device=dev)
        # per step and replica: n, sum loss, sum w, sum w^2, sum w log w, min w, max w,
        # objective; the diagnostics (ESS, max/min, entropy) are formed from these when read
        self.raw = torch.zeros((total_steps, R, 8), device=dev)
        self.tracked = [stratified_subset(g, min(track, n_train), s).to(dev) for s in seeds]
        self.slot = torch.full((R, n_train), -1, dtype=torch.long, device=dev)
        for r, picks in enumerate(self.tracked):
            self.slot[r, picks] = torch.arange(len(picks), device=dev)
        self.replica_of = torch.arange(R, device=dev)
        self.sample_rows: list[torch.Tensor] = []  # (5, k): replica, step, slot, loss, weight
        self.pending: list[tuple] = []  # (step, idx, losses, w, objectives, alive) to flush
        self._rows: torch.Tensor | None = None

    def on_step(self, t: int, idx: torch.Tensor, losses: torch.Tensor, w: torch.Tensor,
                objectives: torch.Tensor, states: list[dict], alive: list[int]) -> None:
        """Step t: (R, B) positions, losses and weights, (R,) objectives (detached; kept by
        reference: the engine makes fresh tensors every step). Only ``alive`` replicas count."""
        self.pending.append((t, idx, losses, w, objectives, alive))
        for r in alive:
            for rows, k in zip(self.state_rows[r], self.state_keys[r]):
                rows.append(states[r][k])
            self.steps[r] = t + 1
        if len(self.pending) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Record the pending steps: steps of equal batch width are processed together."""
        by_width: dict[int, list[tuple]] = {}
        for p in self.pending:
            by_width.setdefault(p[1].shape[1], []).append(p)
        self.pending = []
        for group in by_width.values():
            self._record(group)

    def _record(self, group: list[tuple]) -> None:
        dev, R, K, G = self.stats.device, self.R, self.K, self.n_groups
        t = torch.tensor([p[0] for p in group], device=dev)
        idx = torch.stack([p[1] for p in group])  # (k, R, B)
        losses, w = torch.stack([p[2] for p in group]), torch.stack([p[3] for p in group])
        base = ((t * 3)[:, None] * R + self.replica_of) * K  # (k, R): (step, count, replica)
        keys = self.g[idx] + base[:, :, None]
        if self.n_classes:
            keys = torch.cat([keys, self.y[idx] + (base + G)[:, :, None]], 2)
            values = torch.stack([torch.ones_like(losses), losses, w]).repeat(1, 1, 1, 2)
        else:
            values = torch.stack([torch.ones_like(losses), losses, w])
        channel = (torch.arange(3, device=dev) * (R * K))[:, None, None, None]
        self.stats.view(-1).index_add_(0, (keys + channel).reshape(-1), values.reshape(-1))
        m = torch.stack([losses, w, w * w, torch.special.xlogy(w, w)]).sum(3)  # (4, k, R)
        lo, hi = torch.aminmax(w, dim=2)
        objectives = torch.stack([p[4] for p in group]).to(m.dtype)
        self.raw[t] = torch.stack([torch.full_like(lo, w.shape[2]), *m, lo, hi, objectives],
                                  2).to(self.raw.dtype)
        slots = self.slot[self.replica_of[:, None], idx]  # (k, R, B)
        hit = slots >= 0
        dead = [(j, r) for j, p in enumerate(group) if len(p[5]) < R
                for r in range(R) if r not in p[5]]
        if dead:
            hit[tuple(torch.tensor(dead, device=dev).t())] = False
        rows = torch.stack([self.replica_of[None, :, None].expand_as(losses).to(losses.dtype),
                            t[:, None, None].expand_as(losses).to(losses.dtype),
                            slots.to(losses.dtype), losses, w])
        self.sample_rows.append(rows[:, hit])
        self._rows = None

    def rows_of(self, r: int) -> torch.Tensor:
        """(4, k) tracked-sample rows of replica r: step, slot, loss, weight (in step order)."""
        if self.pending:
            self.flush()
        if self._rows is None:  # sorted once by replica, then step: each replica a slice
            rows = torch.cat(self.sample_rows, 1) if self.sample_rows else torch.zeros((5, 0))
            key = rows[0].long() * (int(rows[1].max()) + 1 if rows.shape[1] else 1)
            rows = rows[:, torch.argsort(key + rows[1].long(), stable=True)]  # replica, step
            ends = torch.bincount(rows[0].long(), minlength=self.R).cumsum(0).tolist()
            self._rows, self._ends = rows, [0, *ends]
        return self._rows[1:, self._ends[r]:self._ends[r + 1]]

    def histories(self, rs: list[int], group_names: list[str], class_names: list[str],
                  eval_rows: list[list[dict]]) -> list[pd.DataFrame]:
        """The history frame of each replica in ``rs`` (``record_frames.history_frames``)."""
        return history_frames(self, rs, group_names, class_names, eval_rows)

    def weight_frames(self, rs: list[int], ids: torch.Tensor, y: torch.Tensor,
                      g: torch.Tensor, noisy: torch.Tensor, group_names: list[str]
                      ) -> list[pd.DataFrame]:
        """The tracked-sample frame of each replica in ``rs`` (``record_frames``)."""
        return weight_frames(self, rs, ids, y, g, noisy, group_names)

    def view_state(self, r: int) -> torch.Tensor:
        """(keys, steps, groups): replica r's recorded scheme-state vectors, float32, CPU."""
        rows = self.state_rows[r]
        if not rows or not rows[0]:
            return torch.zeros((len(self.state_keys[r]), 0, self.n_groups))
        return torch.stack([torch.stack(k) for k in rows]).detach().float().cpu()

    def view(self, r: int) -> ReplicaRecords:
        """Replica r's records, read as one run's frames."""
        if self.pending:
            self.flush()
        return ReplicaRecords(self, r)


class ReplicaRecords:
    """One replica's records in a ``Recorder``: the frames of one run (views, no copies)."""

    def __init__(self, recorder: Recorder, r: int):
        self.recorder, self.r = recorder, r
        self.spe, self.steps = recorder.spe, recorder.steps[r]
        self.tracked = recorder.tracked[r]
        self.state_keys = recorder.state_keys[r]

    @property
    def diag(self) -> torch.Tensor:
        """(steps, 5): ESS, max/min ratio, entropy, objective and mean loss of each step
        (``metrics.weights.diagnostics_from_sums``: the formulas of ``weight_diagnostics``)."""
        raw = self.recorder.raw[:self.steps, self.r]
        d = diagnostics_from_sums(raw[:, [0, 2, 3, 4, 5, 6]])
        return torch.stack([d["ess"], d["max_min_ratio"], d["entropy"], raw[:, 7],
                            raw[:, 1] / raw[:, 0]], 1)

    @property
    def state_log(self) -> torch.Tensor:
        """(keys, steps, groups): the recorded scheme-state vectors, float32 on the CPU."""
        return self.recorder.view_state(self.r)

    # ---- tidy frames (``Recorder.histories`` / ``weight_frames`` build all replicas' at once)
    def history(self, group_names: list[str], class_names: list[str],
                eval_rows: list[dict] = ()) -> pd.DataFrame:
        """Tidy per-step records, then ``eval_rows`` (dicts with the history columns)."""
        return self.recorder.histories([self.r], group_names, class_names, [eval_rows])[0]

    def weights(self, ids: torch.Tensor, y: torch.Tensor, g: torch.Tensor,
                noisy: torch.Tensor, group_names: list[str]) -> pd.DataFrame:
        """Tracked-sample rows: step, epoch, sample_id, label, group, noisy, loss, weight."""
        return self.recorder.weight_frames([self.r], ids, y, g, noisy, group_names)[0]
