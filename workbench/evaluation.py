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
        if split.X.dtype == np.uint8:  # images stay uint8: the model converts each batch
            x_dtype = torch.uint8
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
    """The rows of ``evaluate`` from outputs already computed."""
    rows = score_replicas(out.unsqueeze(0), data, task, group_names, class_names)[0]
    return (out.reshape(-1) if task == "regression" else out), rows


def score_replicas(out: torch.Tensor, data: SplitTensors, task: str, group_names: list[str],
                   class_names: list[str]) -> list[list[dict]]:
    """``score_outputs``'s rows for each of R replicas' outputs (R, n, ...) on one split:
    one set of tensor ops for all replicas (each row's numbers are those of the replica
    scored alone), then one host read."""
    R, n = out.shape[0], out.shape[1]
    y = data.y.expand(R, *data.y.shape).flatten(0, 1)
    losses = per_sample_loss(out.flatten(0, 1), y, task).view(R, n)
    if task in ("regression", "lm"):
        scores = {("mse" if task == "regression" else "loss"): losses}
    else:
        scores = {"loss": losses, "accuracy": (out.argmax(2) == data.y).float()}
    keys = [("group", data.g, group_names)]
    if task == "classification":
        keys.append(("class", data.y, [str(c) for c in class_names]))
    parts = []  # per metric: (R,) means, then (R, K) sums of each key
    for values in scores.values():
        parts.append(values.mean(1, keepdim=True))
        for _, key, names in keys:
            parts.append(torch.zeros(R, len(names), device=values.device,
                                     dtype=values.dtype).index_add_(1, key, values))
    counts = [torch.bincount(key, minlength=len(names)).float().tolist()
              for _, key, names in keys]
    table = torch.cat(parts, 1).tolist()  # (R, columns), one host read
    out_rows = []
    for r in range(R):
        row, col, rows = table[r], 0, []
        for metric in scores:
            rows.append({"level": "all", "group": "all", "metric": metric, "value": row[col]})
            col += 1
            for (level, _, names), count in zip(keys, counts):
                for name, c, s in zip(names, count, row[col:col + len(names)]):
                    if c > 0:
                        rows.append({"level": level, "group": name, "metric": metric,
                                     "value": s / c})
                col += len(names)
        if task == "lm":  # equal-length sequences: the mean of sequence means is the token mean
            rows += [{**x, "metric": "perplexity", "value": math.exp(x["value"])} for x in rows]
        out_rows.append(rows)
    return out_rows


def final_records(outputs: dict[str, torch.Tensor], splits: dict[str, SplitTensors],
                  task: str, n_bins: int = 15, group_names: list[str] | None = None
                  ) -> tuple[dict, pd.DataFrame]:
    """Summary metrics on the test split and the val/test predictions frame.

    ``group_names`` names the per-domain ``perplexity:<domain>`` keys of an lm summary.
    """
    return final_records_many([outputs], splits, task, n_bins, group_names)[0]


def final_records_many(outputs: list[dict[str, torch.Tensor]],
                       splits: dict[str, SplitTensors], task: str, n_bins: int = 15,
                       group_names: list[str] | None = None) -> list[tuple[dict, pd.DataFrame]]:
    """``final_records`` of several models' outputs on the same splits (replicas trained
    together): the probabilities are formed in one pass and the frames built as one table
    and split; each summary is computed from its model's outputs alone."""
    if task == "lm":
        return [_lm_records(o, splits, group_names) for o in outputs]
    R, columns, sizes = len(outputs), {}, []
    summaries: list[dict] = [{} for _ in range(R)]
    for name in ("val", "test"):
        data = splits[name]
        out = torch.stack([o[name] for o in outputs])  # (R, n, ...)
        y, g = data.y.cpu().numpy(), data.g.cpu().numpy()
        frame = {"sample_id": data.ids.cpu().numpy(), "label": y, "group": g,
                 "noisy": data.noisy.cpu().numpy()}
        frame = {k: np.tile(v, R) for k, v in frame.items()}
        if task == "regression":
            pred = out.reshape(R, -1).cpu().numpy().astype(np.float64)
            frame["pred"] = pred.reshape(-1)
            if name == "test":
                summaries = [metrics.regression_summary(p, y, g) for p in pred]
        else:
            probs = torch.softmax(out.double(), dim=2).cpu().numpy()  # (R, n, C)
            frame["pred"] = probs.argmax(2).reshape(-1)
            frame["confidence"] = probs.max(2).reshape(-1)
            for c in range(probs.shape[2]):
                frame[f"p{c}"] = probs[:, :, c].reshape(-1)
            if name == "test":
                summaries = [metrics.classification_summary(p, y, g, n_bins=n_bins)
                             for p in probs]
        sizes.append(len(y))
        for k, v in frame.items():
            columns.setdefault(k, []).append(v.reshape(R, -1))
    # replica by replica: its val rows, then its test rows (as pd.concat of the two gave)
    split = text_column(["val", "test"], np.tile(np.repeat([0, 1], sizes), R))
    table = pd.DataFrame({"split": split, **{k: np.concatenate(v, 1).reshape(-1)
                                              for k, v in columns.items()}})
    n = sum(sizes)
    frames = [table.iloc[r * n:(r + 1) * n].reset_index(drop=True) for r in range(R)
              ] if R > 1 else [table]
    return [({k: float(v) for k, v in s.items()}, f) for s, f in zip(summaries, frames)]


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
