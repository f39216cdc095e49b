"""Which runs train together: the one rule behind compare, sweeps and the dashboard.

A comparison or a sweep is many runs that often differ only in scheme, scheme parameters
and seed. Such runs share one training loop as replicas (``engine.fit`` with R > 1: their
parameters stacked along a replica axis, one forward, one fused optimiser step), which on
a CPU is several times faster than one by one and gives the same numbers up to float
rounding. Runs are compatible when everything but ``scheme``, ``scheme_params`` and
``seed`` is equal and none of them needs to train alone (``why_not_batchable``: a
multi-stage scheme, dropout, the transformer). ``plan_batches`` groups a list of configs
by that rule, in chunks of at most ``MAX_REPLICAS``; ``engine.train_many``, the sweep
backends and the dashboard all call it.

Example:
    >>> from workbench.config import RunConfig
    >>> cfgs = [RunConfig(dataset="blobs2d", scheme=s, seed=k)
    ...         for s in ("uniform", "jtt", "kl_dro") for k in (0, 1)]
    >>> plan_batches(cfgs)
    [[0, 1, 4, 5], [2], [3]]
    >>> plan_batches(cfgs, by=lambda c: c.seed)   # the dashboard: one batch per seed
    [[0, 4], [1, 5], [2], [3]]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .config import RunConfig
from .schemes import SCHEMES

PER_REPLICA = ("scheme", "scheme_params", "seed")
MAX_REPLICAS = 32  # more replicas per pass gain little on a CPU and cost memory


def compatibility_key(cfg: RunConfig) -> str:
    """Configs with equal keys can share one batched pass."""
    d = cfg.to_dict()
    return json.dumps({k: v for k, v in d.items() if k not in PER_REPLICA}, sort_keys=True)


def why_not_batchable(cfg: RunConfig) -> str | None:
    """None when ``cfg`` can be trained as a replica, else the reason in words."""
    if SCHEMES.get(cfg.scheme).multi_stage():
        return f"scheme {cfg.scheme!r} has several stages"
    if cfg.model_params.get("dropout", 0):
        return "dropout draws differ between a batch and a single run"
    if cfg.model == "transformer":
        return "attention has no vmap batching rule: one by one is faster"
    if cfg.model == "module":
        return "a user's module may hold buffers or operations without a vmap batching rule"
    if cfg.model == "resnet32":
        return "BatchNorm's running statistics cannot be updated in stacked replicas"
    return None


def plan_batches(configs: list[RunConfig], max_replicas: int = MAX_REPLICAS,
                 by: Callable[[RunConfig], Any] | None = None) -> list[list[int]]:
    """Indices of ``configs`` to train together, in order of first appearance.

    Compatible configs (equal ``compatibility_key``, and equal ``by(cfg)`` when given) form
    one group, cut into chunks of at most ``max_replicas``; a config that cannot be a
    replica is a batch of its own.
    """
    groups: dict[Any, list[int]] = {}
    for i, c in enumerate(configs):
        key = ("alone", i) if why_not_batchable(c) else (
            compatibility_key(c), None if by is None else by(c))
        groups.setdefault(key, []).append(i)
    step = max(1, max_replicas)
    return [g[k:k + step] for g in groups.values() for k in range(0, len(g), step)]
