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

from .evaluation import decision_grid, evaluate, final_records_many
from .nets.images import speedups_of
from .run import HISTORY_COLUMNS, Run


def stage_history(result, data) -> pd.DataFrame:
    """A stage's per-step records plus its evaluation rows, in history columns."""
    return result.recorder.history(data.group_names, data.class_names, result.eval_rows)


def finish_run(cfg, ctx, result, started: float) -> Run:
    """One run's ``Run`` (``finish_runs`` with a single replica)."""
    return finish_runs([cfg], ctx, [result], started)[0]


def finish_runs(cfgs, ctx, results, started: float) -> list[Run]:
    """The runs of replicas trained together (one recorder): their frames are built as one
    table each and split (``Recorder.histories``), their predictions scored together."""
    data, original, tr = ctx.data, ctx.original, ctx.splits["train"]
    recorder, rs = results[0].recorder.recorder, [res.recorder.r for res in results]
    histories = recorder.histories(rs, data.group_names, data.class_names,
                                   [res.eval_rows for res in results])
    labels = tr.y if tr.y.ndim == 1 else torch.full_like(tr.g, -1)  # lm: no per-sample label
    weights = recorder.weight_frames(rs, tr.ids, labels, tr.g, tr.noisy, data.group_names)
    stages = pd.DataFrame(columns=["stage", *HISTORY_COLUMNS])
    if ctx.stages:
        stages = pd.concat([stage_history(s, data).assign(stage=s.stage) for s in ctx.stages],
                           ignore_index=True)[["stage", *HISTORY_COLUMNS]]
    finals = final_records_of([res for res in results if res.status != "diverged"], ctx)
    counts = {k: {n: v.tolist() for n, v in bundle.counts(split).items()}
              for k, bundle, split in (("counts_before", original, "train"),
                                       ("counts_after", data, "train"),
                                       ("counts_test", data, "test"))}
    runs = []
    for cfg, result, history, weight in zip(cfgs, results, histories, weights):
        summary, predictions, boundary, message = {}, pd.DataFrame(), pd.DataFrame(), ""
        if result.status == "diverged":
            message = (f"training diverged: the objective became NaN/inf at step "
                       f"{result.diverged_step}")
        else:
            summary, predictions = finals[id(result)]
            if data.n_features == 2 and data.task == "classification":
                boundary = decision_grid(result.model, tr.X)
        info = {
            "task": data.task, "group_names": data.group_names,
            "class_names": data.class_names,
            "n_train": len(data.train), "n_val": len(data.val), "n_test": len(data.test),
            **{k: {n: list(v) for n, v in c.items()} for k, c in counts.items()},
            "notes": data.notes, "steps": result.steps,
            "steps_per_epoch": result.recorder.spe, "selected_epoch": result.selected_epoch,
            "selection": cfg.selection, "device": str(ctx.device),
            "runtime_s": time.perf_counter() - started,
            "tracked": int(result.recorder.tracked.numel()),
            "stages": [s.stage for s in ctx.stages] + ["main"],
            "scheme_report": _report(result.state),
            **speedups_of(result.model, ctx.device),  # image models: channels_last, autocast
        }
        run = Run(config=cfg, status=result.status, summary=summary, history=history,
                  weights=weight, predictions=predictions, info=info, boundary=boundary,
                  diverged_step=result.diverged_step, message=message, model=result.model,
                  stages=stages if len(results) == 1 else stages.copy(deep=False))
        for cb in result.callbacks:
            cb.on_end(run)
        runs.append(run)
    return runs


def final_records_of(results, ctx) -> dict[int, tuple[dict, pd.DataFrame]]:
    """{id(result): (summary, predictions)} of finished results: val/test outputs from the
    last evaluation where it scored the returned model, else evaluated now."""
    data = ctx.data
    outputs = [res.outputs or {
        s: evaluate(res.model, ctx.splits[s], data.task, data.group_names,
                    data.class_names)[0] for s in ("val", "test")} for res in results]
    records = final_records_many(outputs, ctx.splits, data.task,
                                 group_names=data.group_names) if results else []
    return {id(res): rec for res, rec in zip(results, records)}


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
