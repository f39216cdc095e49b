"""Floors for the benchmark: what forward, backward and Adam (and evaluation) cost alone.

A ratio such as "16 batched replicas / one run" means little without the least it could
be on this machine. These helpers time the workbench's own building blocks (the stacked
forward, the fused optimiser, ``predict_all``) on random batches with nothing else
around them, so ``bench.py`` can print how far each measurement is from its floor.

Example (timings vary; the shape of the answer does not):
    >>> import workbench as wb
    >>> cfg = wb.RunConfig(dataset="blobs2d", epochs=1)
    >>> step_floor(cfg, 2, steps=3) > 0 and eval_floor_s(cfg, 2) > 0
    True
"""

from __future__ import annotations

import time

import torch
from torch import nn

import workbench as wb


def timed(fn, repeats: int = 1, clock=time.perf_counter):
    """(best time of ``repeats`` calls, last result): the VM's timings jitter by 20%.

    ``clock=time.process_time`` counts this process's CPU time instead of wall time: on a
    machine shared with other jobs it leaves out the time spent waiting for a core."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def step_floor(cfg: wb.RunConfig, R: int, steps: int = 200) -> float:
    """Seconds per step of forward + backward + fused Adam alone for R stacked replicas.

    The workbench's own stacked forward and optimiser on random batches, no scheme, no
    recording, no evaluation: the least a batched step can cost. R = 1 is one run's floor,
    with the plain ``nn.Module`` forward that a single run uses.
    """
    from torch.func import stack_module_state

    from workbench.context import TrainingContext, make_optimizer
    from workbench.stacked_forward import stacked_forward

    ctx = TrainingContext.build(cfg)
    tr, B = ctx.splits["train"], cfg.batch_size
    models = [ctx.build_model() for _ in range(R)]
    params, buffers = stack_module_state(models)
    if R == 1:
        opt = make_optimizer(cfg, list(models[0].parameters()))

        def fwd(p, b, x):
            return models[0](x[0]).unsqueeze(0)
    else:
        fwd, opt = stacked_forward(models[0]), make_optimizer(cfg, list(params.values()))
    idx = torch.randint(0, len(tr.y), (R, B), device=ctx.device)
    x, y = tr.X[idx], tr.y[idx].flatten()

    def step():
        out = fwd(params, buffers, x)
        loss = nn.functional.cross_entropy(out.flatten(0, 1), y, reduction="none")
        opt.zero_grad(set_to_none=True)
        loss.view(R, -1).mean(1).sum().backward()
        opt.step()

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if cfg.device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def eval_floor_s(cfg: wb.RunConfig, R: int) -> float:
    """Seconds for R stacked replicas' outputs on train, val and test (one evaluation)."""
    from torch.func import stack_module_state

    from workbench.context import TrainingContext
    from workbench.stacked_forward import predict_all

    ctx = TrainingContext.build(cfg)
    models = [ctx.build_model() for _ in range(R)]
    params, buffers = stack_module_state(models)
    def evaluate_all():
        for split in ctx.splits.values():
            predict_all(models[0], params, buffers, split.X)
        if ctx.device.type == "cuda":
            torch.cuda.synchronize()

    seconds, _ = timed(evaluate_all, 5)
    return seconds


def bare_loop(cfg: wb.RunConfig, R: int = 1, repeats: int = 3,
              clock=time.perf_counter) -> tuple[float, int]:
    """(best seconds, steps) of the floor loop: ``cfg``'s epochs for R replicas, nothing else.

    The floor a run is measured against (issue "one engine", Speed): index tensors on the
    device, forward (the plain module for R = 1, the stacked forward for R > 1), per-sample
    cross-entropy, weighted mean, backward, fused Adam. No scheme, recording, callbacks or
    evaluation; the epochs' permutations are drawn on the device.
    """
    from torch.func import stack_module_state

    from workbench.context import TrainingContext, make_optimizer
    from workbench.stacked_forward import stacked_forward

    ctx = TrainingContext.build(cfg)
    tr, B, dev = ctx.splits["train"], cfg.batch_size, ctx.device
    n = len(tr)
    spe = -(-n // B)
    models = [ctx.build_model() for _ in range(R)]
    if R == 1:
        model = models[0]
        tensors = list(model.parameters())

        def fwd(x):
            return model(x[0]).unsqueeze(0)
    else:
        params, buffers = stack_module_state(models)
        stacked, tensors = stacked_forward(models[0]), list(params.values())

        def fwd(x):
            return stacked(params, buffers, x)
    opt = make_optimizer(cfg, tensors)
    w = torch.ones(R, B, device=dev)

    def run():
        for _ in range(cfg.epochs):
            order = torch.stack([torch.randperm(n, device=dev) for _ in range(R)])
            for b in range(spe):
                idx = order[:, b * B:(b + 1) * B]
                out = fwd(tr.X[idx])
                loss = nn.functional.cross_entropy(out.flatten(0, 1), tr.y[idx].flatten(),
                                                   reduction="none").view(R, -1)
                objective = (w[:, :loss.shape[1]] * loss).mean(1).sum()
                opt.zero_grad(set_to_none=True)
                objective.backward()
                opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    seconds, _ = timed(run, repeats, clock)
    return seconds, spe * cfg.epochs
