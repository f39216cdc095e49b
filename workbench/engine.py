"""The training engine: ``train(config) -> Run``. The loop reads top to bottom (nanoGPT).

Data live on the device as tensors; a step indexes them, computes per-sample losses,
lets the scheme update its state and weight the losses, and steps the optimiser.
Recording and progress are callbacks (minGPT). A non-finite objective stops the run
and marks it ``diverged`` at that step instead of crashing; non-finite weights from
finite losses are the scheme's fault and raise ``SchemeError`` (``step_check``).

Multi-stage schemes (JTT, DoReMi, data pruning) define ``prepare(ctx, state)`` and call
``ctx.fit(...)`` for their earlier stages; every stage's records end up in the one run
(``run.stages``), the final stage's in ``run.history``.

Example:
    >>> import workbench as wb
    >>> run = wb.train(wb.RunConfig(dataset="blobs2d", epochs=2, model="linear"))
    >>> run.status, sorted(run.summary)[:2]
    ('done', ['accuracy', 'balanced_accuracy'])
"""

from __future__ import annotations

import copy
import math
import time

import torch

from .callbacks import Callback, StepRecord, TqdmProgress
from .config import RunConfig
from .context import FitResult, TrainingContext, selection_score
from .evaluation import evaluate
from .finish import finish_run
from .recording import Recorder
from .run import Run
from .schemes import SCHEMES, Batch
from .step_check import check_weights, step_ok


def train(config: RunConfig, callbacks: list[Callback] | tuple = (), progress: bool = False) -> Run:
    cfg = config.validate()
    started = time.perf_counter()
    ctx = TrainingContext.build(cfg, fit)
    scheme = SCHEMES.create(cfg.scheme, **cfg.scheme_params)
    scheme.check_task(ctx.data.task, cfg.dataset)  # a CSV's task is known only once read
    state = scheme.init_state(ctx.info(cfg.epochs, scheme))
    if hasattr(scheme, "prepare"):  # earlier stages of multi-stage schemes
        state = scheme.prepare(ctx, state)
    cbs = [*callbacks] + ([TqdmProgress(cfg.label)] if progress else [])
    result = fit(ctx, scheme, state, cfg.epochs, cfg.seed, cbs, stage="main")
    return finish_run(cfg, ctx, result, started)


def fit(ctx: TrainingContext, scheme, state, epochs: int, seed: int,
        callbacks: list[Callback] | tuple = (), stage: str = "main",
        selection: str | None = None) -> FitResult:
    """Train a fresh model with ``scheme`` for ``epochs``; the loop of every stage."""
    cfg, data, tr = ctx.config, ctx.data, ctx.splits["train"]
    selection = selection or cfg.selection
    info = ctx.info(epochs, scheme)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ctx.build_model()
    opt = ctx.build_optimizer(model)
    recorder = Recorder(info.n, tr.g, data.n_groups, ctx.n_classes, info.total_steps,
                        info.steps_per_epoch, cfg.track, seed, scheme.recorded_state)
    cbs = [recorder, *callbacks]
    for cb in cbs:
        cb.on_start(info.total_steps, cfg)

    status, diverged_step, step, eval_rows = "done", None, 0, []
    best = (-math.inf, None, None)  # (score, epoch, state_dict) for model selection
    eval_step, eval_outputs = None, {}  # step and split outputs of the latest evaluation
    for epoch in range(epochs):
        order = epoch_order(scheme, state, info, epoch, gen).to(ctx.device)
        for b in range(min(info.steps_per_epoch, math.ceil(len(order) / cfg.batch_size))):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            y, g = tr.y[idx], tr.g[idx]
            out = model(tr.X[idx])
            losses = scheme.loss(out, y, info)
            batch = Batch(idx, y, g, out.detach(), step, data.n_groups, info.n_classes)
            state = scheme.update(losses.detach(), batch, state, info)
            w = scheme.weights(losses.detach(), batch, state, info)
            objective = scheme.objective(losses, w, out, batch)
            if not bool(step_ok(objective, w)):
                check_weights(scheme, losses.detach(), w, step)  # a scheme fault raises
                status, diverged_step = "diverged", step
                break
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            rec = StepRecord(step, epoch, info.total_steps, idx, y, g, losses.detach(), w,
                             objective.detach(), state)
            for cb in cbs:
                cb.on_step(rec)
            step += 1
            if any(cb.stop_requested for cb in cbs):
                status = "cancelled"
                break
        if status != "done":
            break
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == epochs:
            rows = []
            for name, split in ctx.splits.items():
                out, r = evaluate(model, split, data.task, data.group_names, data.class_names)
                rows += [{"step": step, "epoch": epoch + 1, "split": name, **x} for x in r]
                eval_outputs[name] = out
            eval_step = step
            eval_rows += rows
            for cb in cbs:
                cb.on_eval(step, epoch + 1, rows)
            score = selection_score(selection, rows, data.group_names)
            if selection != "last" and score > best[0]:
                best = (score, epoch + 1, copy.deepcopy(model.state_dict()))

    fresh = eval_step == step and best[1] in (None, epoch + 1)
    if best[2] is not None:
        model.load_state_dict(best[2])
    result = FitResult(stage, model, recorder, eval_rows, status, diverged_step, step,
                       best[1] if best[1] is not None else step // info.steps_per_epoch,
                       state, cbs, outputs=eval_outputs if fresh else None)
    if stage != "main":
        ctx.stages.append(result)
    return result


def epoch_order(scheme, state, info, epoch: int, gen: torch.Generator) -> torch.Tensor:
    """Sample positions for one epoch: a permutation, or draws from the scheme's sampler."""
    if hasattr(scheme, "epoch_order"):
        return scheme.epoch_order(state, info, epoch, gen)
    if scheme.mode == "sample":
        probs = scheme.sampling_probs(state, info, epoch * info.steps_per_epoch)
        return torch.multinomial(probs.cpu().double(), info.n, replacement=True, generator=gen)
    return torch.randperm(info.n, generator=gen)
