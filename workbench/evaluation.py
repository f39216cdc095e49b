"""Evaluation of a model on whole splits: curves for the history, and the final summary.

``evaluate`` runs the model over a split in chunks (no gradients) and returns the raw
outputs plus tidy rows (overall, per group, per class) of the unweighted loss and the
accuracy (classification), MSE (regression) or perplexity (lm: per domain = group, the
exp of the group's mean token loss); a row's ``level`` says whether it is about the whole
split ("all"), a group or a class. ``final_records`` turns the selected model's val/test
outputs into ``run.summary`` (via ``workbench.metrics``; computed here for lm) and the
``predictions`` frame the calibration views use (per-sample losses for lm).

Example:
    >>> import torch
    >>> from torch import nn
    >>> ds = SplitTensors(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), torch.zeros(4).long(),
    ...                   torch.arange(4), torch.zeros(4, dtype=torch.bool))
    >>> out, rows = evaluate(nn.Linear(2, 2), ds, "classification", ["g0"], ["a", "b"])
    >>> sorted({r["metric"] for r in rows})
    ['accuracy', 'loss']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import metrics
from .run import text_column
from .schemes.base import per_sample_loss


@dataclass
class SplitTensors:
    X: torch.Tensor
    y: torch.Tensor
    g: torch.Tensor
    ids: torch.Tensor
    noisy: torch.Tensor

    @classmethod
    def from_split(cls, split, task: str, device: torch.device) -> SplitTensors:
        y_dtype = torch.float32 if task == "regression" else torch.long
        x_dtype = torch.long if task == "lm" else torch.float32  # lm: token ids
        def t(a, dtype):  # copies: cached data sets hand out read-only arrays
            return torch.tensor(a, dtype=dtype, device=device)

        return cls(t(split.X, x_dtype), t(split.y, y_dtype), t(split.g, torch.long),
                   t(split.ids, torch.long), t(split.noisy, torch.bool))

    def __len__(self) -> int:
        return int(self.y.shape[0])


@torch.no_grad()
def predict(model: torch.nn.Module, X: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    was_training = model.training
    model.eval()
    out = torch.cat([model(X[i:i + chunk]) for i in range(0, len(X), chunk)])
    model.train(was_training)
    return out


def evaluate(model, data: SplitTensors, task: str, group_names: list[str],
             class_names: list[str]) -> tuple[torch.Tensor, list[dict]]:
    """Outputs on the split and tidy rows: loss and accuracy/mse/perplexity, overall/group/class.

    For lm, "perplexity" is exp of the mean token loss of the whole split or the group
    (from the group mean, not a mean of per-sample exps); lm has no per-class rows.
    """
    return score_outputs(predict(model, data.X), data, task, group_names, class_names)


def score_outputs(out: torch.Tensor, data: SplitTensors, task: str, group_names: list[str],
                  class_names: list[str]) -> tuple[torch.Tensor, list[dict]]:
    """The rows of ``evaluate`` from outputs already computed (batched replicas use it)."""
    losses = per_sample_loss(out, data.y, task)
    if task == "regression":
        scores = {"mse": losses}
        out = out.reshape(-1)
    elif task == "lm":
        scores = {"loss": losses}
    else:
        scores = {"loss": losses, "accuracy": (out.argmax(1) == data.y).float()}
    rows = []
    keys = [("group", data.g, group_names)]
    if task == "classification":
        keys.append(("class", data.y, [str(c) for c in class_names]))
    for metric, values in scores.items():
        rows.append({"level": "all", "group": "all", "metric": metric,
                     "value": float(values.mean())})
        for level, key, names in keys:
            count = torch.bincount(key, minlength=len(names)).float()
            sums = torch.zeros(len(names), device=values.device).index_add_(0, key, values)
            for name, c, s in zip(names, count.tolist(), sums.tolist()):
                if c > 0:
                    rows.append({"level": level, "group": name, "metric": metric,
                                 "value": s / c})
    if task == "lm":  # sequences have equal length: the mean of sequence means is the token mean
        rows += [{**r, "metric": "perplexity", "value": math.exp(r["value"])} for r in rows]
    return out, rows


def final_records(outputs: dict[str, torch.Tensor], splits: dict[str, SplitTensors],
                  task: str, n_bins: int = 15, group_names: list[str] | None = None
                  ) -> tuple[dict, pd.DataFrame]:
    """Summary metrics on the test split and the val/test predictions frame.

    ``group_names`` names the per-domain ``perplexity:<domain>`` keys of an lm summary.
    """
    if task == "lm":
        return _lm_records(outputs, splits, group_names)
    columns: dict[str, list] = {}
    summary: dict = {}
    sizes = []
    for name in ("val", "test"):
        data, out = splits[name], outputs[name]
        y, g = data.y.cpu().numpy(), data.g.cpu().numpy()
        frame = {"sample_id": data.ids.cpu().numpy(), "label": y, "group": g,
                 "noisy": data.noisy.cpu().numpy()}
        if task == "regression":
            pred = out.reshape(-1).cpu().numpy().astype(np.float64)
            frame["pred"] = pred
            if name == "test":
                summary = metrics.regression_summary(pred, y, g)
        else:
            probs = torch.softmax(out.double(), dim=1).cpu().numpy()
            frame["pred"] = probs.argmax(1)
            frame["confidence"] = probs.max(1)
            for c in range(probs.shape[1]):
                frame[f"p{c}"] = probs[:, c]
            if name == "test":
                summary = metrics.classification_summary(probs, y, g, n_bins=n_bins)
        sizes.append(len(y))
        for k, v in frame.items():
            columns.setdefault(k, []).append(v)
    # one frame of both splits (as pd.concat of the two would give), framed once
    split = text_column(["val", "test"], np.repeat([0, 1], sizes))
    frame = {"split": split, **{k: np.concatenate(v) for k, v in columns.items()}}
    return {k: float(v) for k, v in summary.items()}, pd.DataFrame(frame)


def _lm_records(outputs: dict[str, torch.Tensor], splits: dict[str, SplitTensors],
               group_names: list[str] | None) -> tuple[dict, pd.DataFrame]:
    """lm summary (test perplexity overall, worst domain, per domain; mean token loss) and
    per-sample loss rows (split, sample_id, group, loss) for val and test."""
    frames, summary = [], {}
    for name in ("val", "test"):
        data = splits[name]
        losses = per_sample_loss(outputs[name], data.y, "lm").double().cpu().numpy()
        g = data.g.cpu().numpy()
        frames.append(pd.DataFrame({"split": name, "sample_id": data.ids.cpu().numpy(),
                                    "group": g, "loss": losses}))
        if name == "test":
            names = group_names or [f"g{k}" for k in range(int(g.max()) + 1)]
            per = {names[k]: math.exp(losses[g == k].mean()) for k in np.unique(g)}
            summary = {"perplexity": math.exp(losses.mean()),
                       "worst_group_perplexity": max(per.values()), "loss": losses.mean(),
                       **{f"perplexity:{k}": v for k, v in per.items()}}
    return {k: float(v) for k, v in summary.items()}, pd.concat(frames, ignore_index=True)


def decision_grid(model, X: torch.Tensor, n: int = 80, pad: float = 0.5) -> pd.DataFrame:
    """Predicted class and confidence on an n x n grid covering 2-D inputs ``X``.

    The data view draws each scheme's decision boundary from this frame.
    """
    lo, hi = X.min(0).values - pad, X.max(0).values + pad
    xs = torch.linspace(float(lo[0]), float(hi[0]), n, device=X.device)
    ys = torch.linspace(float(lo[1]), float(hi[1]), n, device=X.device)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    probs = torch.softmax(predict(model, grid).double(), 1)
    conf, pred = probs.max(1)
    return pd.DataFrame({"x0": grid[:, 0].cpu().numpy(), "x1": grid[:, 1].cpu().numpy(),
                         "pred": pred.cpu().numpy(), "confidence": conf.cpu().numpy()})
