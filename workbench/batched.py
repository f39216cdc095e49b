"""Batched replicas: R runs of one model shape on one data set, trained in one pass.

A comparison is many runs that differ only in scheme, scheme parameters and seed. Their
parameters are stacked along a replica dimension (``torch.func.stack_module_state``)
and the forward pass is vectorised (``stacked_forward``: one ``baddbmm`` per layer for
MLPs, ``vmap(functional_call)`` for other models); one fused optimiser step updates all
replicas. Each replica keeps its own seed (same initialisation as a run trained alone),
data order, scheme and scheme state, and its own recorder. Summing the replicas'
objectives gives each replica exactly its own gradient, and Adam/SGD act elementwise, so
a replica trained in a batch follows the run trained alone up to float rounding of the
batched matmuls.

Runs are compatible when everything but ``scheme``, ``scheme_params`` and ``seed`` is
equal, the scheme is single-stage (no ``prepare``), and every replica draws the same
number of samples per epoch. ``train_many`` groups compatible configs and falls back to
one-by-one training for the rest; ``run.info["execution"]`` says which happened.

Example:
    >>> import workbench as wb
    >>> cfgs = [wb.RunConfig(dataset="blobs2d", epochs=1, scheme=s) for s in ("uniform", "kl_dro")]
    >>> [r.info["execution"] for r in train_many(cfgs)]
    ['batched (2 replicas)', 'batched (2 replicas)']
"""

from __future__ import annotations

import copy
import json
import math
import time

import torch
from torch.func import functional_call, stack_module_state

from .batched_recording import BatchedRecorder
from .callbacks import Callback, StepRecord
from .config import RunConfig
from .context import FitResult, TrainingContext, make_optimizer, selection_score
from .engine import epoch_order
from .evaluation import score_outputs
from .finish import finish_run
from .run import Run
from .schemes import SCHEMES, Batch, Scheme, per_sample_loss
from .stacked_forward import predict_all, stacked_forward
from .step_check import check_weights, step_ok

PER_REPLICA = ("scheme", "scheme_params", "seed")


def compatibility_key(cfg: RunConfig) -> str:
    """Configs with equal keys can share one batched pass."""
    d = cfg.to_dict()
    return json.dumps({k: v for k, v in d.items() if k not in PER_REPLICA}, sort_keys=True)


def why_not_batchable(cfg: RunConfig) -> str | None:
    """None when ``cfg`` can be trained as a replica, else the reason in words."""
    scheme = SCHEMES.get(cfg.scheme)
    if hasattr(scheme, "prepare"):
        return f"scheme {cfg.scheme!r} has several stages"
    if cfg.model_params.get("dropout", 0):
        return "dropout draws differ between a batch and a single run"
    if cfg.model == "transformer":
        return "attention has no vmap batching rule: one by one is faster"
    return None


class ReplicaModel(torch.nn.Module):
    """One replica's view of the stacked parameters, usable wherever a model is."""

    def __init__(self, base: torch.nn.Module, params: dict, buffers: dict):
        super().__init__()
        self.base, self.params, self.buffers_ = base, params, buffers

    def forward(self, x):
        return functional_call(self.base, (self.params, self.buffers_), (x,))


def train_batched(configs: list[RunConfig], callbacks: list[Callback] | tuple = ()) -> list[Run]:
    """Train compatible configs together; ``callbacks`` see the first replica's steps."""
    cfgs = [c.validate() for c in configs]
    keys = {compatibility_key(c) for c in cfgs}
    if len(keys) != 1:
        raise ValueError("train_batched needs configs that differ only in scheme, "
                         "scheme_params and seed; use train_many to group them")
    for c in cfgs:
        reason = why_not_batchable(c)
        if reason:
            raise ValueError(f"{c.label} cannot be batched: {reason}")
    started = time.perf_counter()
    base_cfg, R = cfgs[0], len(cfgs)
    ctx = TrainingContext.build(base_cfg)
    data, tr = ctx.data, ctx.splits["train"]
    schemes = [SCHEMES.create(c.scheme, **c.scheme_params) for c in cfgs]
    for s in schemes:
        s.check_task(data.task, base_cfg.dataset)  # a CSV's task is known only once read
    infos = [ctx.info(base_cfg.epochs, s) for s in schemes]
    if len({i.steps_per_epoch for i in infos}) != 1:
        raise ValueError("replicas draw different numbers of samples per epoch")
    states = [s.init_state(i) for s, i in zip(schemes, infos)]
    gens, models = [], []
    for c in cfgs:  # the same order of random draws as engine.fit
        torch.manual_seed(c.seed)
        gens.append(torch.Generator().manual_seed(c.seed))
        models.append(ctx.build_model())
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    batched_forward = stacked_forward(models[0])
    opt = make_optimizer(base_cfg, list(params.values()))
    info0, B = infos[0], base_cfg.batch_size
    recorder = BatchedRecorder(R, info0.n, tr.g, data.n_groups, ctx.n_classes,
                               info0.total_steps, info0.steps_per_epoch, base_cfg.track,
                               [c.seed for c in cfgs], [s.recorded_state for s in schemes])
    default_loss = all(type(s).loss is Scheme.loss for s in schemes)
    default_objective = all(type(s).objective is Scheme.objective for s in schemes)
    # replicas whose scheme keeps the base update/weights (uniform) need no per-step call
    active = [r for r, s in enumerate(schemes)
              if type(s).update is not Scheme.update or type(s).weights is not Scheme.weights]
    for cb in callbacks:
        cb.on_start(info0.total_steps, base_cfg)

    status, diverged = ["done"] * R, [None] * R
    eval_rows = [[] for _ in range(R)]
    best = [(-math.inf, None, None) for _ in range(R)]
    step, eval_step, eval_outputs = 0, None, {}  # latest evaluation: {split: (R, n, ...)}
    for epoch in range(base_cfg.epochs):
        orders = torch.stack([epoch_order(s, st, i, epoch, g)
                              for s, st, i, g in zip(schemes, states, infos, gens)]).to(ctx.device)
        for b in range(min(info0.steps_per_epoch, math.ceil(orders.shape[1] / B))):
            idx = orders[:, b * B:(b + 1) * B]  # (R, B)
            y, g = tr.y[idx], tr.g[idx]
            out = batched_forward(params, buffers, tr.X[idx])
            if default_loss:  # one call for all replicas
                losses = per_sample_loss(out.flatten(0, 1), y.flatten(0, 1),
                                         data.task).view(R, -1)
            else:
                losses = torch.stack([s.loss(out[r], y[r], infos[r])
                                      for r, s in enumerate(schemes)])
            detached = losses.detach()
            alive = [r for r in range(R) if status[r] == "done"]
            w = torch.ones_like(detached)
            outs = out.detach()
            for r in (r for r in active if status[r] == "done"):
                s, info = schemes[r], infos[r]
                batch = Batch(idx[r], y[r], g[r], outs[r], step, data.n_groups,
                              info.n_classes)
                states[r] = s.update(detached[r], batch, states[r], info)
                w[r] = s.weights(detached[r], batch, states[r], info)
            if default_objective:
                objectives = (w * losses).mean(1)
            else:
                objectives = torch.stack([
                    s.objective(losses[r], w[r], out[r], Batch(idx[r], y[r], g[r],
                                outs[r], step, data.n_groups, infos[r].n_classes))
                    for r, s in enumerate(schemes)])
            finite = step_ok(objectives, w).tolist()
            for r in alive:
                if not finite[r]:
                    check_weights(schemes[r], detached[r], w[r], step)  # a scheme fault raises
                    status[r], diverged[r] = "diverged", step
            alive = [r for r in alive if finite[r]]
            if not alive:
                break
            opt.zero_grad(set_to_none=True)
            (objectives.sum() if len(alive) == R else objectives[alive].sum()).backward()
            opt.step()
            recorder.on_step(step, idx, y, g, detached, w, objectives.detach(), states, alive)
            if 0 in alive and callbacks:
                rec = StepRecord(step, epoch, info0.total_steps, idx[0], y[0], g[0],
                                 detached[0], w[0], objectives[0].detach(), states[0])
                for cb in callbacks:
                    cb.on_step(rec)
            step += 1
            if any(cb.stop_requested for cb in callbacks):
                status = ["cancelled" if s == "done" else s for s in status]
                break
        if all(s != "done" for s in status):
            break
        if (epoch + 1) % base_cfg.eval_every == 0 or epoch + 1 == base_cfg.epochs:
            alive = [r for r in range(R) if status[r] == "done"]
            rows_of = {r: [] for r in alive}
            for name, split in ctx.splits.items():
                preds = predict_all(models[0], params, buffers, split.X)  # all replicas
                eval_outputs[name] = preds
                for r in alive:
                    _, rr = score_outputs(preds[r], split, data.task, data.group_names,
                                          data.class_names)
                    rows_of[r] += [{"step": step, "epoch": epoch + 1, "split": name, **x}
                                   for x in rr]
            eval_step = step
            for r in alive:
                rows = rows_of[r]
                eval_rows[r] += rows
                score = selection_score(base_cfg.selection, rows, data.group_names)
                if base_cfg.selection != "last" and score > best[r][0]:
                    best[r] = (score, epoch + 1, _replica(base, params, buffers, r, clone=True))

    wall = time.perf_counter() - started
    runs = []
    for r, c in enumerate(cfgs):
        model = best[r][2] or _replica(base, params, buffers, r, clone=True)
        rec = recorder.replica(r)
        selected = best[r][1] or rec.steps // info0.steps_per_epoch
        fresh = eval_step == rec.steps and best[r][1] in (None, epoch + 1)
        outputs = {s: eval_outputs[s][r] for s in ("val", "test")} if fresh else None
        result = FitResult("main", model, rec, eval_rows[r], status[r], diverged[r],
                           rec.steps, selected, states[r], [], outputs)
        run = finish_run(c, ctx, result, started)
        run.info.update(execution=f"batched ({R} replicas)", batch_wall_s=wall,
                        runtime_s=wall / R)
        runs.append(run)
    for cb in callbacks:
        cb.on_end(runs[0])
    return runs


def _replica(base, params, buffers, r: int, clone: bool = False) -> ReplicaModel:
    def pick(t):
        return t[r].detach().clone() if clone else t[r].detach()

    return ReplicaModel(base, {k: pick(v) for k, v in params.items()},
                        {k: pick(v) for k, v in buffers.items()})


def train_many(configs: list[RunConfig], callbacks: list[Callback] | tuple = (),
               batched: bool = True, max_replicas: int = 32) -> list[Run]:
    """Train every config, batching the compatible ones; results in input order.

    Configs that cannot be batched (multi-stage schemes, dropout) or that have no
    compatible partner are trained one by one with ``engine.train``; each run's
    ``info["execution"]`` says "batched (R replicas)" or "sequential: <reason>".
    """
    from .engine import train

    cfgs = [c.validate() for c in configs]
    groups: dict[str, list[int]] = {}
    runs: list[Run | None] = [None] * len(cfgs)
    reasons: dict[int, str] = {}
    for i, c in enumerate(cfgs):
        reason = why_not_batchable(c) if batched else "batching switched off"
        if reason:
            reasons[i] = reason
        else:
            groups.setdefault(compatibility_key(c), []).append(i)
    for members in groups.values():
        if len(members) == 1:
            reasons[members[0]] = "no compatible run to batch with"
            continue
        for start in range(0, len(members), max_replicas):
            chunk = members[start:start + max_replicas]
            try:
                out = train_batched([cfgs[i] for i in chunk], callbacks)
            except ValueError as err:  # e.g. different samples per epoch
                for i in chunk:
                    reasons[i] = str(err)
                continue
            for i, run in zip(chunk, out):
                runs[i] = run
    for i, reason in sorted(reasons.items()):
        run = train(cfgs[i], callbacks=callbacks)
        run.info["execution"] = f"sequential: {reason}"
        runs[i] = run
    return runs
