"""The tidy frames of a training recorder: history and tracked-sample weights.

Why apart from ``recording``: recording is the per-step part (a few tensor ops per chunk of
steps); this is the read-out, run once per run. It builds the frames of all the replicas
trained together as one table (a few array ops whatever their number, one DataFrame) and
splits it, so 16 seeds do not pay pandas' per-frame costs 16 times; string columns are
gathered as codes into their few distinct values (``run.text_column``). The frames are
exactly those of each replica built alone.

Example:
    >>> import pandas as pd
    >>> [len(f) for f in _split_rows(pd.DataFrame({"a": range(5)}), [2, 3])]
    [2, 3]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .metrics.weights import diagnostics_from_sums
from .run import HISTORY_COLUMNS, WEIGHT_COLUMNS, text_column

DIAGNOSTICS = ("ess", "max_min_ratio", "entropy", "objective", "loss")


def history_frames(rec, rs: list[int], group_names: list[str], class_names: list[str],
                   eval_rows: list[list[dict]]) -> list[pd.DataFrame]:
    """The history frame of each replica in ``rs`` (then its ``eval_rows``), built as one
    table and framed once: a few array ops for all replicas, not per replica. String
    columns are gathered as codes into their few distinct values (``text_column``)."""
    if rec.pending:
        rec.flush()
    G, spe = rec.n_groups, rec.spe
    Ts = [rec.steps[r] for r in rs]
    T = max(Ts, default=0)
    names = {"all": 0, "group": 1, "class": 2}  # level and group share one set of codes
    group_codes = np.array([names.setdefault(n, len(names)) for n in group_names],
                           dtype=np.int64)  # a group may be called "all"
    metrics: dict[str, int] = {}
    parts = []  # (replica slot, step, level code, group code, metric code, value)

    def add(j, t, level, codes, metric, values):
        code = metrics.setdefault(metric, len(metrics))
        parts.append((j, t, np.full(len(t), level), codes, np.full(len(t), code), values))

    rsel = torch.tensor(rs, device=rec.stats.device)
    stats = rec.stats[:T].index_select(2, rsel).permute(1, 2, 0, 3).cpu().numpy()
    live = np.arange(T)[None, :] < np.array(Ts)[:, None]  # (R', T): steps each has
    keys = [(1, group_codes, stats[..., :G])]
    if class_names:
        codes = np.array([names.setdefault(str(c), len(names)) for c in class_names])
        keys.append((2, codes, stats[..., G:]))
    for level, codes, (count, loss_sum, w_sum) in keys:  # each (R', T, K)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {"share": count / np.maximum(count.sum(2, keepdims=True), 1),
                      "loss": loss_sum / count, "weight": w_sum / count}
        for metric, arr in values.items():
            present = live[:, :, None] & ((count > 0) if metric != "share"
                                          else np.ones_like(count, bool))
            j, t, k = np.nonzero(present)
            add(j, t, level, codes[k], metric, arr[j, t, k])
    for j, r in enumerate(rs):  # each replica's scheme may record its own state
        log = rec.view_state(r)
        for i, key in enumerate(rec.state_keys[r]):
            values = log[i, :Ts[j]].numpy()
            t = np.repeat(np.arange(Ts[j]), values.shape[1])
            add(np.full(len(t), j), t, 1, np.tile(group_codes, Ts[j]), key,
                values.reshape(-1))
    raw = rec.raw[:T].index_select(1, rsel)  # (T, R', 8)
    d = diagnostics_from_sums(raw[..., [0, 2, 3, 4, 5, 6]])
    diag = torch.stack([d["ess"], d["max_min_ratio"], d["entropy"], raw[..., 7],
                        raw[..., 1] / raw[..., 0]], 2).cpu().numpy()  # (T, R', 5)
    for i, metric in enumerate(DIAGNOSTICS):
        t, j = np.nonzero(live.T)
        order = np.argsort(j, kind="stable")
        add(j[order], t[order], 0, np.zeros(len(t), np.int64), metric,
            diag[t[order], j[order], i])
    cols = [np.concatenate([p[c] for p in parts]) if parts else np.zeros(0, np.int64)
            for c in range(6)]
    j, step, level, group, metric = (np.asarray(c, dtype=np.int64) for c in cols[:5])
    value = np.asarray(cols[5], dtype=np.float64)
    epoch, split = step // spe, np.zeros(len(step), np.int64)
    splits = {"train_batch": 0}
    flat = [(i, x) for i, rows in enumerate(eval_rows) for x in rows]
    if flat:  # evaluation rows carry their epoch (counted from 1)
        j = np.concatenate([j, [i for i, _ in flat]])
        step = np.concatenate([step, [x["step"] for _, x in flat]]).astype(np.int64)
        epoch = np.concatenate([epoch, [x["epoch"] for _, x in flat]]).astype(np.int64)
        split = np.concatenate([split, [splits.setdefault(x["split"], len(splits))
                                        for _, x in flat]])
        level = np.concatenate([level, [names.setdefault(x["level"], len(names))
                                        for _, x in flat]])
        group = np.concatenate([group, [names.setdefault(x["group"], len(names))
                                        for _, x in flat]])
        metric = np.concatenate([metric, [metrics.setdefault(x["metric"], len(metrics))
                                          for _, x in flat]])
        value = np.concatenate([value, np.array([x["value"] for _, x in flat],
                                                dtype=np.float64)])
    # replica by replica, each in part order
    order = np.argsort(j, kind="stable") if len(rs) > 1 else slice(None)
    table = pd.DataFrame({"step": step[order], "epoch": epoch[order],
                          "split": text_column(splits, split[order]),
                          "level": text_column(names, level[order]),
                          "group": text_column(names, group[order]),
                          "metric": text_column(metrics, metric[order]),
                          "value": value[order]}, columns=HISTORY_COLUMNS)
    return _split_rows(table, np.bincount(j, minlength=len(rs)))



def weight_frames(rec, rs: list[int], ids: torch.Tensor, y: torch.Tensor,
                  g: torch.Tensor, noisy: torch.Tensor, group_names: list[str]
                  ) -> list[pd.DataFrame]:
    """The tracked-sample frame (``WEIGHT_COLUMNS``) of each replica in ``rs``, framed
    once for all of them."""
    rows = [rec.rows_of(r).cpu().numpy() for r in rs]
    sizes = np.array([x.shape[1] for x in rows])
    if not sizes.sum():
        return [pd.DataFrame(columns=WEIGHT_COLUMNS) for _ in rs]
    pos = np.concatenate([rec.tracked[r].cpu().numpy()[x[1].astype(np.int64)]
                          for r, x in zip(rs, rows)])
    rows = np.concatenate(rows, 1)
    step = rows[0].astype(np.int64)
    table = pd.DataFrame({
        "step": step, "epoch": step // rec.spe, "sample_id": ids.cpu().numpy()[pos],
        "label": y.cpu().numpy()[pos],
        "group": text_column([str(n) for n in group_names], g.cpu().numpy()[pos]),
        "noisy": noisy.cpu().numpy()[pos], "loss": rows[2], "weight": rows[3],
    }, columns=WEIGHT_COLUMNS)
    return [part if n else pd.DataFrame(columns=WEIGHT_COLUMNS)
            for part, n in zip(_split_rows(table, sizes), sizes)]



def _split_rows(table: pd.DataFrame, sizes) -> list[pd.DataFrame]:
    """Consecutive blocks of ``sizes`` rows, each indexed from 0 (views of ``table``)."""
    if len(sizes) == 1:
        return [table]
    ends = np.cumsum(sizes)
    return [table.iloc[e - n:e].reset_index(drop=True) for e, n in zip(ends, sizes)]
