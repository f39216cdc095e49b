"""The training engine: one loop over R >= 1 replicas; a single run is R = 1 (nanoGPT style).

Data live on the device as tensors. A step indexes them with one (R, B) block of positions
(each replica its own data order), runs every replica's forward pass at once
(``replicas.ModelStack``), computes per-sample losses, lets each replica's scheme update its
state and weight the losses, and steps one optimiser over all replicas. Summing the
replicas' objectives gives each replica exactly its own gradient, so a run trained with
others follows the run trained alone up to float rounding. A non-finite objective stops
that replica and marks it ``diverged`` at that step; non-finite weights from finite losses
are the scheme's fault and raise ``SchemeError`` (``step_check``).

Runs that cannot share a stack (multi-stage schemes, dropout, the transformer:
``batched.why_not_batchable``) go through the same loop with R = 1. Multi-stage schemes
(JTT, DoReMi, data pruning) train their earlier stages in ``prepare(ctx, state)`` with
``ctx.fit``, which is this loop again; every stage's records end up in the one run
(``run.stages``), the final stage's in ``run.history``.

Callbacks (``callbacks.Callback``) see, for every run, ``on_start``, ``on_step`` after
each of its steps, ``on_eval`` after each evaluation and ``on_end`` with the finished run,
whether the run trained alone or as one of R replicas (then each event comes once per
replica, in replica order; ``StepRecord.config`` and the ``config`` argument say which).

Example:
    >>> import workbench as wb
    >>> run = wb.train(wb.RunConfig(dataset="blobs2d", epochs=2, model="linear"))
    >>> run.status, sorted(run.summary)[:2]
    ('done', ['accuracy', 'balanced_accuracy'])
    >>> cfgs = [wb.RunConfig(dataset="blobs2d", epochs=1, scheme=s) for s in ("uniform", "kl_dro")]
    >>> [r.info["execution"] for r in train_many(cfgs)]
    ['batched (2 replicas)', 'batched (2 replicas)']
"""

from __future__ import annotations

import math
import time

import torch

from .batched import MAX_REPLICAS, compatibility_key, plan_batches, why_not_batchable
from .callbacks import Callback, StepBlock, StepRecord, TqdmProgress, notify_eval
from .config import RunConfig
from .context import FitResult, Replica, TrainingContext, make_optimizer, selection_score
from .data.images import augment_replicas, batch_augment
from .evaluation import score_replicas
from .finish import finish_runs
from .recording import Recorder
from .registry import check
from .replicas import ModelStack
from .run import Run
from .schedule import scheduled, set_lr
from .schemes import SCHEMES, Batch, Scheme, per_sample_loss
from .step_check import check_weights, step_ok
from .threads import training_threads


class NotBatchable(ValueError):
    """Configs that cannot share one loop (``train_many`` then trains them one by one)."""


def train(config: RunConfig, callbacks: list[Callback] | tuple = (), progress: bool = False) -> Run:
    """Train one run (the loop with R = 1)."""
    cbs = [*callbacks] + ([TqdmProgress(config.label)] if progress else [])
    return train_replicas([config], cbs)[0]


def train_replicas(configs: list[RunConfig], callbacks: list[Callback] | tuple = (),
                   validated: bool = False) -> list[Run]:
    """Train configs that differ only in scheme, scheme parameters and seed in one loop,
    with the one torch thread policy of every entry point (``workbench.threads``).
    ``validated``: the caller has just validated ``configs`` (``train_many``)."""
    with training_threads() as n:
        runs = _train_replicas(configs, callbacks, validated)
    for run in runs:
        run.info["torch_threads"] = n
    return runs


def _train_replicas(configs: list[RunConfig], callbacks: list[Callback] | tuple = (),
                    validated: bool = False) -> list[Run]:
    cfgs = list(configs) if validated else [c.validate() for c in configs]
    check(len(cfgs) > 0, "train_replicas needs at least one config")
    if len(cfgs) > 1:
        if len({compatibility_key(c) for c in cfgs}) != 1:
            raise NotBatchable("configs trained together must differ only in scheme, "
                               "scheme_params and seed; use train_many to group them")
        for c in cfgs:
            reason = why_not_batchable(c)
            if reason:
                raise NotBatchable(f"{c.label} cannot be batched: {reason}")
    started = time.perf_counter()
    ctx = TrainingContext.build(cfgs[0], fit)
    replicas = []
    for c in cfgs:
        scheme = SCHEMES.create(c.scheme, **c.scheme_params)
        scheme.check_task(ctx.data.task, c.dataset)  # a CSV's task is known only once read
        state = scheme.init_state(ctx.info(c.epochs, scheme))
        state = scheme.prepare(ctx, state)  # earlier stages of multi-stage schemes
        replicas.append(Replica(scheme, state, c.seed, c))
    results = fit(ctx, replicas, cfgs[0].epochs, callbacks)
    wall = time.perf_counter() - started
    runs = finish_runs(cfgs, ctx, results, started)
    if len(cfgs) > 1:
        for run in runs:
            run.info.update(execution=f"batched ({len(cfgs)} replicas)", batch_wall_s=wall,
                            runtime_s=wall / len(cfgs))
    return runs


def train_many(configs: list[RunConfig], callbacks: list[Callback] | tuple = (),
               batched: bool = True, max_replicas: int = MAX_REPLICAS,
               validated: bool = False) -> list[Run]:
    """Train every config, compatible ones together (``batched.plan_batches``); results in
    input order. ``run.info["execution"]`` says "batched (R replicas)" or "sequential:
    <reason>". ``validated``: the caller has just validated ``configs`` (``compare``)."""
    cfgs = list(configs) if validated else [c.validate() for c in configs]
    runs: list[Run | None] = [None] * len(cfgs)
    for batch in plan_batches(cfgs, max_replicas if batched else 1):
        reason = "batching switched off" if not batched else (
            why_not_batchable(cfgs[batch[0]]) or "no compatible run to batch with")
        if len(batch) > 1:
            try:
                for i, run in zip(batch, train_replicas([cfgs[i] for i in batch], callbacks,
                                                        validated=True)):
                    runs[i] = run
                continue
            except NotBatchable as err:  # e.g. different samples per epoch
                reason = str(err)
        for i in batch:
            runs[i] = train(cfgs[i], callbacks)
            runs[i].info["execution"] = f"sequential: {reason}"
    return runs


def fit(ctx: TrainingContext, replicas: list[Replica], epochs: int,
        callbacks: list[Callback] | tuple = (), stage: str = "main",
        selection: str | None = None) -> list[FitResult]:
    """Train fresh models, one per replica, for ``epochs``: the loop of every run and stage."""
    cfg, data, tr = ctx.config, ctx.data, ctx.splits["train"]
    selection = selection or cfg.selection
    R, B = len(replicas), cfg.batch_size
    schemes, states = [rep.scheme for rep in replicas], [rep.state for rep in replicas]
    infos = [ctx.info(epochs, s) for s in schemes]
    info = infos[0]
    if len({i.steps_per_epoch for i in infos}) != 1:
        raise NotBatchable("replicas draw different numbers of samples per epoch")
    gens, models = [], []
    for rep in replicas:  # each replica: the random draws of a run trained alone
        torch.manual_seed(rep.seed)
        gens.append(torch.Generator().manual_seed(rep.seed))
        models.append(ctx.build_model())
    stack = ModelStack(models)
    opt = make_optimizer(cfg, stack.tensors())
    recorder = Recorder(tr.y, tr.g, data.n_groups, ctx.n_classes, info.total_steps,
                        info.steps_per_epoch, cfg.track, [rep.seed for rep in replicas],
                        [s.recorded_state for s in schemes])
    configs = [rep.config or cfg for rep in replicas]
    for r in range(R):
        for cb in callbacks:
            cb.on_start(info.total_steps, configs[r])
    default_loss = all(type(s).loss is Scheme.loss for s in schemes)
    default_objective = all(type(s).objective is Scheme.objective for s in schemes)
    # replicas whose scheme keeps the base update/weights (uniform) need no per-step call
    active = [r for r, s in enumerate(schemes)
              if type(s).update is not Scheme.update or type(s).weights is not Scheme.weights]
    need_batch = bool(active) or not default_objective
    all_alive = torch.ones(R, device=ctx.device)  # d(sum of objectives)/d(each objective)
    augment = batch_augment(data)  # images: random crop + flip of each training batch
    schedule = scheduled(cfg)  # learning-rate warm-up / decay, set at every step

    status, diverged, alive = ["done"] * R, [None] * R, list(range(R))
    eval_rows: list[list[dict]] = [[] for _ in range(R)]
    best = [(-math.inf, None, None)] * R  # (score, epoch, snapshot) for model selection
    step, eval_step, eval_outputs = 0, None, {}  # latest evaluation: {split: (R, n, ...)}
    for epoch in range(epochs):
        orders = torch.stack([s.epoch_order(st, i, epoch, gen) for s, st, i, gen
                              in zip(schemes, states, infos, gens)]).to(ctx.device)
        for b in range(min(info.steps_per_epoch, math.ceil(orders.shape[1] / B))):
            idx = orders[:, b * B:(b + 1) * B]  # (R, B)
            flat = idx.reshape(-1)  # gathers along dim 0: 4x faster than X[idx] for R = 16
            y = (tr.y.take(idx) if tr.y.dim() == 1 else
                 tr.y.index_select(0, flat).view(*idx.shape, *tr.y.shape[1:]))
            g = tr.g.take(idx) if need_batch else None
            x = tr.X.index_select(0, flat).view(*idx.shape, *tr.X.shape[1:])
            out = stack.forward(augment_replicas(augment, x, gens))  # images: crop + flip
            if default_loss:  # one call for all replicas
                losses = per_sample_loss(out.flatten(0, 1), y.flatten(0, 1),
                                         data.task).view(R, -1)
            else:
                losses = torch.stack([s.loss(out[r], y[r], infos[r])
                                      for r, s in enumerate(schemes)])
            detached = losses.detach()
            batches = [Batch(idx=idx[r], y=y[r], g=g[r], outputs=outs, step=step,
                             n_groups=data.n_groups, n_classes=i.n_classes)
                       for r, (i, outs) in enumerate(zip(infos, out.detach()))
                       ] if need_batch else []
            w = _weights(schemes, states, infos, batches, detached, active, alive)
            if default_objective:  # finite iff every w * l is: no separate check of w
                objectives = (w * losses).mean(1)
                ok = torch.isfinite(objectives)
            else:
                objectives = torch.stack([s.objective(losses[r], w[r], out[r], batches[r])
                                          for r, s in enumerate(schemes)])
                ok = step_ok(objectives, w)
            if not bool(ok.all() if R > 1 else ok):
                finite = ok.tolist()
                for r in (r for r in alive if not finite[r]):
                    check_weights(schemes[r], detached[r], w[r], step)  # a scheme fault raises
                    status[r], diverged[r] = "diverged", step
                alive = [r for r in alive if finite[r]]
                if not alive:
                    break
            opt.zero_grad(set_to_none=True)
            if schedule:
                set_lr(opt, cfg, step, info.steps_per_epoch, info.total_steps)
            if len(alive) == R and objectives.dtype == all_alive.dtype:
                objectives.backward(all_alive)
            else:
                objectives[alive].sum().backward()
            opt.step()
            objectives = objectives.detach()
            recorder.on_step(step, idx, detached, w, objectives, states, alive)
            if callbacks:
                block = StepBlock(idx, y, g, detached, w, objectives, list(states), tr.g)
                for r in alive:
                    rec = StepRecord(step=step, epoch=epoch, total_steps=info.total_steps,
                                     block=block, r=r, config=configs[r])
                    for cb in callbacks:
                        cb.on_step(rec)
            step += 1
            if callbacks and any(cb.stop_requested for cb in callbacks):
                status = ["cancelled" if s == "done" else s for s in status]
                alive = []
                break
        if not alive:
            break
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == epochs:
            rows_of: dict[int, list[dict]] = {r: [] for r in alive}
            for name, split in ctx.splits.items():
                eval_outputs[name] = preds = stack.predict(split.X)  # every replica at once
                scored = score_replicas(preds[alive] if len(alive) < R else preds, split,
                                        data.task, data.group_names, data.class_names)
                for r, rows in zip(alive, scored):
                    rows_of[r] += [{"step": step, "epoch": epoch + 1, "split": name, **x}
                                   for x in rows]
            eval_step = step
            for r in alive:
                eval_rows[r] += rows_of[r]
                for cb in callbacks:
                    notify_eval(cb, step, epoch + 1, rows_of[r], configs[r])
                score = selection_score(selection, rows_of[r], data.group_names)
                if selection != "last" and score > best[r][0]:
                    best[r] = (score, epoch + 1, stack.snapshot(r))

    results = []
    for r in range(R):
        records = recorder.view(r)
        # the last evaluation's outputs are the returned model's when it ran after the
        # replica's last step and selection kept that epoch's model: finish reuses them
        fresh = eval_step == records.steps and best[r][1] in (None, epoch + 1)
        result = FitResult(stage=stage, model=stack.model(r, best[r][2]), recorder=records,
                           eval_rows=eval_rows[r], status=status[r], diverged_step=diverged[r],
                           steps=records.steps,
                           selected_epoch=best[r][1] if best[r][1] is not None
                           else records.steps // info.steps_per_epoch,
                           state=states[r], callbacks=list(callbacks),
                           outputs={s: eval_outputs[s][r] for s in ("val", "test")}
                           if fresh else None)
        if stage != "main":
            ctx.stages.append(result)
        results.append(result)
    return results


def _weights(schemes, states, infos, batches, losses, active, alive) -> torch.Tensor:
    """(R, B) weights: each active, alive replica's scheme updates its state (in ``states``)
    and weights its losses; the others keep weight 1."""
    todo = [r for r in active if r in alive]
    if not todo:
        return torch.ones_like(losses)
    for r in todo:
        states[r] = schemes[r].update(losses[r], batches[r], states[r], infos[r])
    ws = {r: schemes[r].weights(losses[r], batches[r], states[r], infos[r]) for r in todo}
    if len(todo) == len(schemes):
        return ws[0].unsqueeze(0) if len(ws) == 1 else torch.stack([ws[r] for r in todo])
    w = torch.ones_like(losses)
    for r, v in ws.items():
        w[r] = v
    return w
