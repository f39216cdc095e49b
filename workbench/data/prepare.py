"""Load a data set and apply the configured imbalance transforms to its training split."""

from __future__ import annotations

import numpy as np

from .base import DATASETS, TRANSFORMS, DatasetBundle


def load_prepared(dataset: str, dataset_params: dict, imbalance: list, data_seed: int
                  ) -> tuple[DatasetBundle, DatasetBundle]:
    """Return (original, transformed): transforms touch the training split only.

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
    from dataclasses import replace

    return original, replace(original, train=train)
