"""Recording for batched replicas: one set of tensor ops per step for all R replicas.

The single-run ``Recorder`` would cost R x its ops per step; here group/class statistics
go through one ``index_add_`` over (replica, group) pairs, weight diagnostics are row-wise
reductions of the (R, B) weight matrix, and tracked samples are found with one gather
on an (R, N) slot table. ``replica(r)`` hands back an ordinary ``Recorder`` over that
replica's slices, so building each run's frames is the same code as for a single run.

Example:
    >>> import torch
    >>> rec = BatchedRecorder(2, 4, torch.tensor([0, 0, 1, 1]), 2, 2, 3, 1, 4, [0, 1])
    >>> rec.replica(1).tracked.numel()
    4
"""

from __future__ import annotations

import torch

from .recording import DIAGNOSTICS, Recorder, stratified_subset


class BatchedRecorder:
    def __init__(self, R: int, n_train: int, g: torch.Tensor, n_groups: int, n_classes: int,
                 total_steps: int, steps_per_epoch: int, track: int, seeds: list[int],
                 state_keys: list[tuple[str, ...]] | None = None):
        dev = g.device
        self.R, self.G, self.C = R, n_groups, max(n_classes, 1)
        self.n_classes, self.spe = n_classes, steps_per_epoch
        self.keys_of = list(state_keys or [()] * R)  # each replica's recorded_state
        T = total_steps
        self.g_stats = torch.zeros((3, T, R, n_groups), device=dev)
        self.c_stats = torch.zeros((3, T, R, self.C), device=dev)
        self.diag = torch.zeros((R, T, len(DIAGNOSTICS)), device=dev)
        # per replica and recorded key, the state vector of every step, by reference
        self.state_rows = [{k: [] for k in keys} for keys in self.keys_of]
        self.tracked = [stratified_subset(g, min(track, n_train), s).to(dev) for s in seeds]
        self.slot = torch.full((R, n_train), -1, dtype=torch.long, device=dev)
        for r, t in enumerate(self.tracked):
            self.slot[r, t] = torch.arange(len(t), device=dev)
        self.rows: list[torch.Tensor] = []
        self.steps = [0] * R
        self.offsets_g = (torch.arange(R, device=dev) * n_groups)[:, None]
        self.offsets_c = (torch.arange(R, device=dev) * self.C)[:, None]
        self.r_index = torch.arange(R, device=dev, dtype=torch.float32)[:, None]

    def _alive_mask(self, alive: list[int], device) -> torch.Tensor:
        mask = torch.zeros(self.R, dtype=torch.bool)
        mask[alive] = True
        return mask.to(device)

    def on_step(self, t: int, idx, y, g, losses, weights, objectives, states, alive: list[int]):
        """All tensors are (R, B) (objectives (R,)); rows of dead replicas are ignored."""
        ones = torch.ones_like(losses)
        pairs = [(self.g_stats, g + self.offsets_g)]
        if self.n_classes:
            pairs.append((self.c_stats, y.long() + self.offsets_c))
        for stats, key in pairs:
            flat = key.reshape(-1)
            for j, v in enumerate((ones, losses, weights)):
                stats[j, t].view(-1).index_add_(0, flat, v.reshape(-1))
        s1, s2 = weights.sum(1), (weights * weights).sum(1)
        p = weights / s1[:, None]
        entropy = 0.0 - torch.special.xlogy(p, p).sum(1)
        ratio = weights.max(1).values / weights.min(1).values
        self.diag[:, t] = torch.stack([s1 * s1 / s2 / weights.shape[1], ratio, entropy,
                                       objectives, losses.mean(1)], 1).float()
        for r in alive:
            for key, rows in self.state_rows[r].items():
                rows.append(states[r][key])
        slots = self.slot.gather(1, idx)
        hit = slots >= 0
        if len(alive) < self.R:
            hit &= self._alive_mask(alive, idx.device)[:, None]
        self.rows.append(torch.stack([self.r_index.expand_as(losses), torch.full_like(losses, t),
                                      slots.to(losses.dtype), losses, weights])[:, hit])
        for r in alive:
            self.steps[r] = t + 1

    def replica(self, r: int) -> Recorder:
        """An ordinary Recorder over replica r's records (views, no copies of the logs)."""
        rec = Recorder.__new__(Recorder)
        rec.n_groups, rec.n_classes, rec.spe = self.G, self.n_classes, self.spe
        rec.steps, rec.state_keys = self.steps[r], self.keys_of[r]
        rec.g_stats = self.g_stats[:, :, r]
        rec.c_stats = self.c_stats[:, :, r]
        rec.diag = self.diag[r]
        rec.state_rows = [self.state_rows[r][k] for k in rec.state_keys]
        rec.tracked = self.tracked[r]
        rows = torch.cat(self.rows, 1) if self.rows else torch.zeros((5, 0))
        mine = rows[:, rows[0] == r]
        rec.sample_rows = [mine[1:]] if mine.shape[1] else []
        return rec
