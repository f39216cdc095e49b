"""The training engine: ``train(config) -> Run``. The loop reads top to bottom (nanoGPT).

Data live on the device as tensors; a step indexes them, computes per-sample losses,
lets the scheme update its state and weight the losses, and steps the optimiser.
Recording and progress are callbacks (minGPT). A non-finite objective stops the run
and marks it ``diverged`` at that step instead of crashing.

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
from .data import load_prepared
from .evaluation import SplitTensors, decision_grid, evaluate, final_records
from .models import MODELS
from .recording import Recorder
from .registry import check
from .run import Run
from .schemes import SCHEMES, Batch, TrainInfo


def resolve_device(name: str) -> torch.device:
    if name == "cuda":
        check(torch.cuda.is_available(), "device 'cuda' was asked for but no GPU is available; "
                                         "use device='cpu' or 'auto'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def epoch_order(scheme, state, info: TrainInfo, epoch: int, gen: torch.Generator) -> torch.Tensor:
    """Sample positions for one epoch: a permutation, or draws from the scheme's sampler."""
    if hasattr(scheme, "epoch_order"):
        return scheme.epoch_order(state, info, epoch, gen)
    if scheme.mode == "sample":
        probs = scheme.sampling_probs(state, info, epoch * info.steps_per_epoch)
        return torch.multinomial(probs.cpu().double(), info.n, replacement=True, generator=gen)
    return torch.randperm(info.n, generator=gen)


def train(config: RunConfig, callbacks: list[Callback] | tuple = (), progress: bool = False) -> Run:
    cfg = config.validate()
    started = time.perf_counter()
    device = resolve_device(cfg.device)
    original, data = load_prepared(cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed)
    task, n_train = data.task, len(data.train)
    check(cfg.batch_size <= n_train, f"batch_size {cfg.batch_size} is larger than the training "
                                     f"split ({n_train} samples after the imbalance transforms); "
                                     f"allowed: 1..{n_train}")
    splits = {s: SplitTensors.from_split(getattr(data, s), task, device)
              for s in ("train", "val", "test")}
    tr = splits["train"]
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    scheme = SCHEMES.create(cfg.scheme, **cfg.scheme_params)
    n_out = data.n_classes if task == "classification" else 1
    model = MODELS.create(cfg.model, **cfg.model_params).build(data.n_features, n_out).to(device)
    opt = (torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
           if cfg.optimizer == "adam" else
           torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9,
                           weight_decay=cfg.weight_decay))
    spe = math.ceil(n_train / cfg.batch_size)
    total = spe * cfg.epochs
    n_classes = data.n_classes if task == "classification" else 0
    info = TrainInfo(task, tr.y, tr.g, max(n_classes, 1), data.n_groups, total, spe)
    state = scheme.init_state(info)
    recorder = Recorder(n_train, tr.g, data.n_groups, n_classes, total, spe, cfg.track, cfg.seed)
    cbs = [recorder, *callbacks] + ([TqdmProgress(cfg.label)] if progress else [])
    for cb in cbs:
        cb.on_start(total, cfg)

    status, diverged_step, step, eval_rows = "done", None, 0, []
    best = (-math.inf, None, None)  # (score, epoch, state_dict) for model selection
    for epoch in range(cfg.epochs):
        order = epoch_order(scheme, state, info, epoch, gen).to(device)
        for b in range(spe):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            y, g = tr.y[idx], tr.g[idx]
            out = model(tr.X[idx])
            losses = scheme.loss(out, y, info)
            batch = Batch(idx, y, g, out.detach(), step, data.n_groups, info.n_classes)
            state = scheme.update(losses.detach(), batch, state, info)
            w = scheme.weights(losses.detach(), batch, state, info)
            objective = scheme.objective(losses, w, out, batch)
            if not bool(torch.isfinite(objective)):
                status, diverged_step = "diverged", step
                break
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            rec = StepRecord(step, epoch, total, idx, y, g, losses.detach(), w, objective.detach())
            for cb in cbs:
                cb.on_step(rec)
            step += 1
            if any(cb.stop_requested for cb in cbs):
                status = "cancelled"
                break
        if status != "done":
            break
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            rows = []
            for name, split in splits.items():
                _, r = evaluate(model, split, task, data.group_names, data.class_names)
                rows += [{"step": step, "epoch": epoch + 1, "split": name, **x} for x in r]
            eval_rows += rows
            for cb in cbs:
                cb.on_eval(step, epoch + 1, rows)
            score = _selection_score(cfg.selection, rows, data.group_names)
            if cfg.selection != "last" and score > best[0]:
                best = (score, epoch + 1, copy.deepcopy(model.state_dict()))

    if best[2] is not None:
        model.load_state_dict(best[2])
    run = _finish(cfg, model, splits, data, original, recorder, eval_rows, status,
                  diverged_step, step, best[1], started, device)
    for cb in cbs:
        cb.on_end(run)
    return run


def _selection_score(selection: str, rows: list[dict], group_names: list[str]) -> float:
    """Validation score that the 'best_val_*' selection rules maximise."""
    val = [r for r in rows if r["split"] == "val"]
    if selection == "best_val_accuracy":
        return next((r["value"] for r in val if r["group"] == "all" and r["metric"] == "accuracy"),
                    -math.inf)
    if selection == "best_val_worst_group_accuracy":
        accs = [r["value"] for r in val if r["group"] in group_names and r["metric"] == "accuracy"]
        return min(accs) if accs else -math.inf
    if selection == "best_val_loss":
        metric = "mse" if any(r["metric"] == "mse" for r in val) else "loss"
        return -next(r["value"] for r in val if r["group"] == "all" and r["metric"] == metric)
    return 0.0


def _finish(cfg, model, splits, data, original, recorder, eval_rows, status, diverged_step,
            steps, selected_epoch, started, device) -> Run:
    import pandas as pd

    from .run import HISTORY_COLUMNS

    history = recorder.history(data.group_names, data.class_names)
    if eval_rows:
        history = pd.concat([history, pd.DataFrame(eval_rows)[HISTORY_COLUMNS]],
                            ignore_index=True)
    tr = splits["train"]
    weights = recorder.weights(tr.ids, tr.y, tr.g, tr.noisy, data.group_names)
    summary, predictions, boundary, message = {}, pd.DataFrame(), pd.DataFrame(), ""
    if status == "diverged":
        message = f"training diverged: the objective became NaN/inf at step {diverged_step}"
    else:
        outputs = {s: evaluate(model, splits[s], data.task, data.group_names,
                               data.class_names)[0] for s in ("val", "test")}
        summary, predictions = final_records(outputs, splits, data.task)
        if data.n_features == 2 and data.task == "classification":
            boundary = decision_grid(model, tr.X)
    info = {
        "task": data.task, "group_names": data.group_names, "class_names": data.class_names,
        "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
        "counts_before": {k: v.tolist() for k, v in original.counts("train").items()},
        "counts_after": {k: v.tolist() for k, v in data.counts("train").items()},
        "counts_test": {k: v.tolist() for k, v in data.counts("test").items()},
        "notes": data.notes, "steps": steps, "steps_per_epoch": recorder.spe,
        "selected_epoch": selected_epoch if selected_epoch is not None else steps // recorder.spe,
        "device": str(device), "runtime_s": time.perf_counter() - started,
        "tracked": int(recorder.tracked.numel()),
    }
    return Run(cfg, status, summary, history, weights, predictions, info, boundary,
               diverged_step, message, model)
