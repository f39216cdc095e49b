"""``compare``: one config, several schemes, several seeds; a tidy table with intervals.

"Seeds" here are training seeds (model initialisation, data order, sampling); the data
split is fixed by ``config.data_seed`` so every seed sees the same data. The table gives,
per scheme and metric, n, mean, sample standard deviation (ddof 1) and a 95% Student-t
interval mean +/- t(0.975, n-1) * std / sqrt(n) (DomainBed's undefined error bars are a
known pitfall; with n = 1 the interval is undefined and reported as NaN). The interval of a
bounded metric is cut to the metric's range from ``workbench.metrics.catalog`` (an ECE or a
group gap is never below 0, an accuracy never above 1, a perplexity never below 1), and the
``clipped`` column says where that happened: there the interval is no longer symmetric.

Example:
    >>> import workbench as wb
    >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
    ...                  schemes=["uniform", "inverse_frequency"], seeds=[0, 1])
    >>> list(cmp.table.columns)
    ['scheme', 'metric', 'mean', 'std', 'ci_low', 'ci_high', 'n', 'clipped']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .callbacks import Callback, TqdmProgress
from .config import RunConfig
from .engine import train_many
from .metrics.catalog import clip_interval
from .registry import check
from .run import Run
from .schemes import SCHEMES

TABLE_COLUMNS = ["scheme", "metric", "mean", "std", "ci_low", "ci_high", "n", "clipped"]


def scheme_variants(schemes: Iterable[Any]) -> list[tuple[str, dict]]:
    """Normalise 'name', ('name', {params}) or {'scheme': name, 'params': {...}} entries."""
    out = []
    for s in schemes:
        if isinstance(s, str):
            out.append((s, {}))
        elif isinstance(s, dict) and "scheme" in s:
            out.append((s["scheme"], dict(s.get("params", s.get("scheme_params", {})))))
        elif isinstance(s, (tuple, list)) and len(s) == 2 and isinstance(s[1], dict):
            out.append((s[0], dict(s[1])))
        else:
            raise ValueError(f"cannot read scheme entry {s!r}; use a name, (name, params) "
                             "or {'scheme': name, 'params': {...}}")
    check(len(out) > 0, "compare needs at least one scheme")
    return out


def interval_table(summaries: pd.DataFrame, by: str = "scheme") -> pd.DataFrame:
    """Mean, std and 95% t-interval over seeds of every numeric summary column.

    Every column must be a metric of ``workbench.metrics.catalog`` (a ValueError names an
    unknown one); its interval is clipped to the metric's range, ``clipped`` = True where
    the t-interval reached past it.

    Example:
        >>> df = pd.DataFrame({"scheme": "a", "seed": [0, 1, 2], "group_gap": [0.0, 0.02, 0.1]})
        >>> row = interval_table(df).iloc[0]
        >>> float(row["ci_low"]), bool(row["clipped"])
        (0.0, True)
    """
    from scipy import stats

    metrics = [c for c in summaries.columns
               if c not in (by, "seed", "status", "label") and
               pd.api.types.is_numeric_dtype(summaries[c])]
    rows = []
    for key, grp in summaries.groupby(by, sort=False):
        for m in metrics:
            v = grp[m].dropna().to_numpy(dtype=float)
            n = len(v)
            mean = float(v.mean()) if n else np.nan
            std = float(v.std(ddof=1)) if n > 1 else np.nan
            half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else np.nan
            lo, hi, clipped = clip_interval(m, mean - half, mean + half)
            rows.append({by: key, "metric": m, "mean": mean, "std": std,
                         "ci_low": lo, "ci_high": hi, "n": n, "clipped": clipped})
    return pd.DataFrame(rows, columns=[by, *TABLE_COLUMNS[1:]])


@dataclass
class Comparison:
    config: RunConfig
    runs: list[Run] = field(default_factory=list)

    @property
    def summaries(self) -> pd.DataFrame:
        """One row per run: scheme label, seed, status and every summary metric."""
        return pd.DataFrame([{"scheme": r.label, "seed": r.config.seed, "status": r.status,
                              **r.summary} for r in self.runs])

    @property
    def table(self) -> pd.DataFrame:
        """scheme, metric, mean, std, ci_low, ci_high, n, clipped over the finished runs."""
        done = self.summaries
        done = done[done["status"] == "done"] if len(done) else done
        if done.empty:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        return interval_table(done.drop(columns=["status"]))

    def pivot(self, stat: str = "mean") -> pd.DataFrame:
        """Schemes as rows, metrics as columns: the compact view."""
        return self.table.pivot(index="scheme", columns="metric", values=stat)

    def runs_of(self, scheme_label: str) -> list[Run]:
        return [r for r in self.runs if r.label == scheme_label]

    def frame(self, name: str) -> pd.DataFrame:
        """Stack one frame ("history", "weights", "predictions", "boundary") of every run,
        with ``scheme`` (label), ``seed`` and ``key`` columns first: what the figures take."""
        return combine(self.runs, name)


def combine(runs: Iterable[Run], name: str) -> pd.DataFrame:
    """Stack ``getattr(run, name)`` over runs with scheme, seed and key columns."""
    check(name in Run.FRAMES, f"unknown run frame {name!r}; valid: {', '.join(Run.FRAMES)}")
    parts = []
    for r in runs:
        df = getattr(r, name)
        if df is None or df.empty:
            continue
        parts.append(df.assign(scheme=r.label, seed=r.config.seed, key=r.key))
    if not parts:
        return pd.DataFrame(columns=["scheme", "seed", "key"])
    out = pd.concat(parts, ignore_index=True)
    return out[["scheme", "seed", "key", *[c for c in out.columns
                                           if c not in ("scheme", "seed", "key")]]]


def comparison_configs(config: RunConfig, schemes: Iterable[Any], seeds: Iterable[int]
                       ) -> list[RunConfig]:
    """Every (scheme, seed) config, validated; a repeated seed or scheme entry is an error
    (it would count one run twice and narrow the interval for nothing)."""
    seeds = list(seeds)
    check(len(seeds) > 0, "compare needs at least one seed")
    check_unique_seeds(seeds)
    variants = scheme_variants(schemes)
    configs = [config.replace(scheme=name, scheme_params=params, seed=int(seed))
               for name, params in variants for seed in seeds]
    for c in configs:
        c.validate()
    _check_unique_schemes(variants)
    return configs


def check_unique_seeds(seeds: list) -> None:
    """Each training seed once.

    Example:
        >>> check_unique_seeds([0, 1, 0])
        Traceback (most recent call last):
        ...
        ValueError: seed 0 is listed 2 times; give each training seed once (seeds [0, 1, 0])
    """
    for s in dict.fromkeys(seeds):
        n = sum(1 for t in seeds if t == s)
        check(n == 1, f"seed {s!r} is listed {n} times; give each training seed once "
                      f"(seeds {list(seeds)})")


def _check_unique_schemes(variants: list[tuple[str, dict]]) -> None:
    """Each (scheme, parameters) once; parameters equal to the defaults count as omitted."""
    seen: dict = {}
    for i, (name, params) in enumerate(variants):
        built = SCHEMES.create(name, **params)  # a frozen dataclass: equal settings, equal
        for j, other in seen.items():
            if other == built:
                label = config_label(name, params)
                check(False, f"scheme entry {label!r} is listed twice (entries {j + 1} and "
                             f"{i + 1}); give each (scheme, parameters) once")
        seen[i] = built


def config_label(name: str, params: dict) -> str:
    return RunConfig(scheme=name, scheme_params=params).label


def compare(config: RunConfig, schemes: Iterable[Any] = ("uniform",), seeds: Iterable[int] = (0,),
            progress: bool = False, callbacks: list[Callback] | tuple = (),
            store: Any = None, force: bool = False, batched: bool = True,
            runner: Callable[[RunConfig], Run] | None = None) -> Comparison:
    """Train ``config`` under every scheme and seed; all configs are validated first.

    Compatible runs train together as batched replicas (``batched=False`` trains them
    one by one; ``run.info["execution"]`` says which). With ``store`` (a ``RunStore``),
    runs already stored are loaded instead of trained (unless ``force``) and new runs are
    saved. ``runner`` replaces all of this with a function of one config.
    """
    configs = comparison_configs(config, schemes, seeds)
    if progress:
        callbacks = [*callbacks, TqdmProgress("compare")]
    if runner is not None:
        return Comparison(config, [runner(c) for c in configs])
    if store is not None:
        return Comparison(config, store.train_many(configs, force=force, callbacks=callbacks,
                                                   batched=batched))
    return Comparison(config, train_many(configs, callbacks=callbacks, batched=batched,
                                         validated=True))
