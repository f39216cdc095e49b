"""Load a data set and apply the configured imbalance transforms to its training split."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd

from .base import DATASETS, TRANSFORMS, DatasetBundle
from .fingerprint import data_fingerprint
from .transforms import check_size


def load_prepared(dataset: str, dataset_params: dict, imbalance: list, data_seed: int
                  ) -> tuple[DatasetBundle, DatasetBundle]:
    """Return (original, transformed): transforms touch the training split only, and may
    grow it at most ``MAX_GROWTH``-fold (``transforms.check_size``).

    Example:
        >>> orig, prep = load_prepared("digits", {}, [{"kind": "longtail", "ratio": 10}], 0)
        >>> len(prep.train) < len(orig.train) and len(prep.test) == len(orig.test)
        True
    """
    original = DATASETS.create(dataset, **dataset_params).load(seed=data_seed)
    train = original.train
    rng = np.random.default_rng(data_seed + 7919)
    for spec in imbalance:
        params = {k: v for k, v in spec.items() if k != "kind"}
        transform = TRANSFORMS.create(spec["kind"], **params)
        train = transform.apply(train, original, rng)
        if len(train) == 0:
            raise ValueError(f"imbalance transform {spec['kind']!r} left no training samples")
        check_size(len(train), len(original.train), f"imbalance transform {spec['kind']!r}")
    from dataclasses import replace

    return original, replace(original, train=train)


def data_facts(dataset: str, dataset_params: dict, imbalance: list, data_seed: int
               ) -> tuple[int, int, int]:
    """(training samples after the transforms, input width, output width) of a config's data.

    Why: a batch size or a model too big for the data can only be checked once the data is
    known; ``RunConfig.validate`` asks this before any run starts (the app's sidebar on
    every rerun), so the answer is cached per data config and file content (a few ints).

    Example:
        >>> data_facts("digits", {}, [], 0)[1:]
        (64, 10)
    """
    key = json.dumps([dataset, dataset_params, imbalance, data_seed,
                      data_fingerprint(dataset, dataset_params)], sort_keys=True, default=str)
    return _facts(key)


@lru_cache(maxsize=64)
def _facts(key: str) -> tuple[int, int, int]:
    import json

    dataset, dataset_params, imbalance, data_seed, _ = json.loads(key)
    data = load_prepared(dataset, dataset_params, imbalance, data_seed)[1]
    n_out = data.n_classes if data.task == "classification" else 1
    if data.task == "lm":  # logits over the vocabulary
        n_out = int(data.extra["vocab_size"])
    return len(data.train), data.n_features, n_out


def points_frame(dataset: str, dataset_params: dict, imbalance: list, data_seed: int,
                 split: str = "train") -> pd.DataFrame:
    """The samples of one split after the transforms, as x0, x1, ..., label, group, noisy.

    Feeds the data view's scatter (e.g. ``blobs2d`` with its decision boundaries).
    """

    _, data = load_prepared(dataset, dataset_params, imbalance, data_seed)
    s = getattr(data, split)
    cols = {f"x{j}": s.X[:, j] for j in range(min(s.X.shape[1], 2))}
    names = data.class_names
    label = [names[int(v)] for v in s.y] if names else s.y
    return pd.DataFrame({**cols, "sample_id": s.ids, "label": label,
                         "group": [data.group_names[int(v)] for v in s.g], "noisy": s.noisy})
