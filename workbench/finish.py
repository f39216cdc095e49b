"""Turn the final stage's results into a ``Run``: summary, frames, info.

Kept apart from the loop so ``engine.py`` reads on one screen. Earlier stages of
multi-stage schemes are stacked into ``run.stages`` (the history columns plus ``stage``).

Example:
    >>> import workbench as wb
    >>> wb.train(wb.RunConfig(dataset="blobs2d", epochs=1)).stages.empty
    True
"""

from __future__ import annotations

import time

import pandas as pd
import torch

from .evaluation import decision_grid, evaluate, final_records
from .nets.images import speedups_of
from .run import HISTORY_COLUMNS, Run


def stage_history(result, data) -> pd.DataFrame:
    """A stage's per-step records plus its evaluation rows, in history columns."""
    return result.recorder.history(data.group_names, data.class_names, result.eval_rows)


def finish_run(cfg, ctx, result, started: float) -> Run:
    data, original, tr = ctx.data, ctx.original, ctx.splits["train"]
    history = stage_history(result, data)
    labels = tr.y if tr.y.ndim == 1 else torch.full_like(tr.g, -1)  # lm: no per-sample label
    weights = result.recorder.weights(tr.ids, labels, tr.g, tr.noisy, data.group_names)
    stages = pd.DataFrame(columns=["stage", *HISTORY_COLUMNS])
    if ctx.stages:
        stages = pd.concat([stage_history(s, data).assign(stage=s.stage) for s in ctx.stages],
                           ignore_index=True)[["stage", *HISTORY_COLUMNS]]
    summary, predictions, boundary, message = {}, pd.DataFrame(), pd.DataFrame(), ""
    if result.status == "diverged":
        message = (f"training diverged: the objective became NaN/inf at step "
                   f"{result.diverged_step}")
    else:
        model = result.model
        outputs = result.outputs or {
            s: evaluate(model, ctx.splits[s], data.task, data.group_names,
                        data.class_names)[0] for s in ("val", "test")}
        summary, predictions = final_records(outputs, ctx.splits, data.task,
                                             group_names=data.group_names)
        if data.n_features == 2 and data.task == "classification":
            boundary = decision_grid(model, tr.X)
    info = {
        "task": data.task, "group_names": data.group_names, "class_names": data.class_names,
        "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
        "counts_before": {k: v.tolist() for k, v in original.counts("train").items()},
        "counts_after": {k: v.tolist() for k, v in data.counts("train").items()},
        "counts_test": {k: v.tolist() for k, v in data.counts("test").items()},
        "notes": data.notes, "steps": result.steps,
        "steps_per_epoch": result.recorder.spe, "selected_epoch": result.selected_epoch,
        "selection": cfg.selection, "device": str(ctx.device),
        "runtime_s": time.perf_counter() - started,
        "tracked": int(result.recorder.tracked.numel()),
        "stages": [s.stage for s in ctx.stages] + ["main"],
        "scheme_report": _report(result.state),
        **speedups_of(result.model, ctx.device),  # image models: channels_last, autocast
    }
    run = Run(cfg, result.status, summary, history, weights, predictions, info, boundary,
              result.diverged_step, message, result.model, stages=stages)
    for cb in result.callbacks:
        cb.on_end(run)
    return run


def _report(state: dict) -> dict:
    """A scheme's ``state["report"]`` (plain floats: ESS, error-set size...), JSON-safe."""
    report = (state or {}).get("report", {}) if isinstance(state, dict) else {}
    out = {}
    for k, v in report.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            out[str(k)] = str(v)
    return out
