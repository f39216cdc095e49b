"""``ArrayData``: your own numpy arrays as a data set, from Python (``wb.train(cfg, data=...)``).

Why: a researcher with tensors in a notebook (embeddings, a simulation, a benchmark's
features) should not have to write a registry class or a file to see what reweighting
does to them. ``ArrayData(X, y, groups=g)`` checks the arrays once, keeps a read-only
copy and a content key; ``wb.train(cfg, data=...)`` turns the config into
``dataset="arrays", dataset_params={"key": <content key>, "title": <name>}``: a plain,
serialisable config whose store key changes with the content, trained by the same engine.

The content key is the first 16 hex digits of a sha256 over, for each of X, y, groups and
split, its dtype, shape and bytes as the run sees them (X float32, labels and groups as
int64 codes, regression targets float32), plus the task and the class and group names.
The arrays live in this process (``LOADED``, by key): a stored run of them loads anywhere
(``RunStore.load``), training them again needs the ``ArrayData`` again.

X is (n, d) for the built-in models; any (n, ...) shape works with your own model
(``model=``, which is built with n_in = X.shape[1]). Without ``split``, val and test are
held out (``val`` 0.15, ``test`` 0.2), seeded by ``data_seed`` and stratified by label and
group like ``csv``. ``task``: "auto" is regression for a float ``y`` with non-integer
values or more than 20 distinct values, classification otherwise.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 5)), np.arange(100) % 2
    >>> data = ArrayData(X, y, groups=np.where(X[:, 0] > 1, "rare", "common"), name="toy")
    >>> data.task, data.group_names, len(data.key)
    ('classification', ['common', 'rare'], 16)
    >>> b = Arrays(**data.register()).load(seed=0)
    >>> len(b.train), len(b.val), len(b.test), b.extra["title"]
    (65, 15, 20, 'toy')
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from ..registry import check
from .array_checks import check_finite, codes, split_codes
from .base import CLASSIFICATION, DATASETS, REGRESSION, DatasetBundle, Split, split_three
from .csv_data import AUTO_MAX_CLASSES, _strata

LOADED: dict[str, ArrayData] = {}  # content key -> arrays, for this process
TASKS = ("auto", CLASSIFICATION, REGRESSION)
MIN_ROWS = 20


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


class ArrayData:
    """Arrays X (n, ...), y (n,), optional ``groups`` (n,) and ``split`` (n,: train/val/test
    or 0/1/2), checked and copied once; ``key`` is their content hash.

    ``class_names`` / ``group_names`` name integer labels / groups 0, 1, ...; string labels
    and groups are named by their values. ``name`` is shown with the run (not content).
    """

    def __init__(self, X, y, *, groups=None, split=None, task: str = "auto",
                 class_names=None, group_names=None, name: str = "", val: float = 0.15,
                 test: float = 0.2):
        check(task in TASKS, f"ArrayData task must be one of {', '.join(TASKS)}, got {task!r}")
        X, y = np.asarray(X), np.asarray(y)
        check(X.ndim >= 2, f"ArrayData X must be at least 2-D (samples x features), got shape "
                           f"{X.shape}")
        n = len(X)
        check(X.dtype.kind in "biuf", f"ArrayData X must be numeric, got dtype {X.dtype}")
        check(n >= 1 and X[0].size >= 1, f"ArrayData X is empty (shape {X.shape})")
        for what, a in (("y", y), ("groups", groups), ("split", split)):
            if a is not None:
                a = np.asarray(a)
                check(a.ndim == 1, f"ArrayData {what} must be 1-D (one value per sample), got "
                                   f"shape {a.shape}")
                check(len(a) == n, f"ArrayData arrays disagree in length: X has {n} rows, "
                                   f"{what} has {len(a)}")
        X = X.astype(np.float64) if X.dtype.kind != "f" else X
        check_finite(X.reshape(n, -1), "ArrayData X")
        if task == "auto":
            values = y.astype(np.float64) if y.dtype.kind == "f" else None
            regression = values is not None and (
                bool(np.any(values != np.round(values)))
                or len(np.unique(values)) > AUTO_MAX_CLASSES)
            task = REGRESSION if regression else CLASSIFICATION
        if task == REGRESSION:
            check(y.dtype.kind in "biuf", f"ArrayData y must be numeric for regression, got "
                                          f"dtype {y.dtype}")
            self.y = _frozen(y.astype(np.float32))
            check(np.isfinite(self.y).all(), "ArrayData y has non-finite values (NaN or inf)")
            self.class_names: list[str] = []
        else:
            codes_, names = codes(y, "ArrayData y", None if class_names is None
                                  else np.asarray(class_names))
            check(len(names) >= 2, f"ArrayData y has one class ({names[0]!r}); a classifier "
                                   "needs at least 2 (or task='regression')")
            self.y, self.class_names = _frozen(codes_), names
        if groups is None:
            self.g, self.group_names = _frozen(np.zeros(n, np.int64)), ["all"]
        else:
            g, self.group_names = codes(np.asarray(groups), "ArrayData groups",
                                         None if group_names is None else np.asarray(group_names))
            self.g = _frozen(g)
        self.split = None if split is None else _frozen(
            split_codes(np.asarray(split), "ArrayData split"))
        self.X = _frozen(X.astype(np.float32))
        self.task, self.name, self.val, self.test = task, name or "arrays", val, test
        self.key = self._content_key()

    def _content_key(self) -> str:
        h = hashlib.sha256()
        for what, a in (("X", self.X), ("y", self.y), ("g", self.g), ("split", self.split)):
            if a is None:
                h.update(f"{what}:none;".encode())
                continue
            h.update(f"{what}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.data)
        h.update(json.dumps([self.task, self.class_names, self.group_names]).encode())
        return h.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"ArrayData({self.name!r}, X {self.X.shape}, {self.task}, "
                f"{len(self.group_names)} group(s), key {self.key})")

    def register(self) -> dict:
        """Make the arrays loadable in this process; the ``dataset_params`` that name them."""
        LOADED[self.key] = self
        params = {"key": self.key, "title": self.name}
        if self.split is None:
            params.update(val=self.val, test=self.test)
        return params


@DATASETS.register("arrays")
@dataclass(frozen=True, kw_only=True)
class Arrays(Params):
    """Your own numpy arrays, from Python: wb.train(cfg, data=wb.ArrayData(X, y, groups=g)).

    ``key`` is their content hash (set for you), ``title`` their name.

    Example:
        >>> Arrays().load(seed=0)
        Traceback (most recent call last):
        ...
        ValueError: arrays come from Python: wb.train(cfg, data=wb.ArrayData(X, y, \
groups=g)) (or wb.compare); they cannot be chosen by name
    """

    task: ClassVar[str] = CLASSIFICATION  # the bundle carries the real task (as csv)
    from_python: ClassVar[bool] = True  # objects of a Python session: not offered in the app
    key: str = param("", help="Content key of the arrays (set by wb.train(cfg, data=...)).")
    title: str = param("", help="The name given to ArrayData (shown with the run).")
    val: float = param(0.15, low=0, high=0.5, closed="neither", noun="a fraction",
                       help="Fraction held out for validation (when there is no split).")
    test: float = param(0.2, low=0, high=0.5, closed="neither", noun="a fraction",
                        help="Fraction held out for testing (when there is no split).")

    def _data(self) -> ArrayData:
        check(self.key != "", "arrays come from Python: wb.train(cfg, data=wb.ArrayData(X, y, "
                              "groups=g)) (or wb.compare); they cannot be chosen by name")
        check(self.key in LOADED,
              f"arrays {self.title or 'arrays'!r} (key {self.key}) are not loaded in this "
              "process: pass data=wb.ArrayData(...) to wb.train or wb.compare again (a stored "
              "run of them loads without them: RunStore(...).get(cfg))")
        return LOADED[self.key]

    def preflight(self) -> None:
        """The arrays are in this process (``RunConfig.validate`` calls this)."""
        self._data()

    def load(self, seed: int) -> DatasetBundle:
        d = self._data()
        n = len(d)
        if d.split is None:
            check(n >= MIN_ROWS, f"ArrayData needs at least {MIN_ROWS} rows to hold out val "
                                 f"and test, got {n} (or pass split=)")
            y_int = d.y if d.task == CLASSIFICATION else np.zeros(n, np.int64)
            tr, va, te = split_three(n, self.val, self.test, seed, _strata(y_int, d.g, d.task))
        else:
            tr, va, te = (np.flatnonzero(d.split == i) for i in range(3))
        splits = [Split(d.X[idx], d.y[idx], d.g[idx], ids=idx.astype(np.int64))
                  for idx in (tr, va, te)]
        return DatasetBundle(
            name=self.name, task=d.task, train=splits[0], val=splits[1], test=splits[2],
            class_names=list(d.class_names), group_names=list(d.group_names),
            notes=f"ArrayData {d.name!r}: X {tuple(d.X.shape)} float32, {d.task}, key {d.key}; "
                  f"splits {'given' if d.split is not None else 'held out'}",
            extra={"title": d.name, "key": d.key, "shape": tuple(d.X.shape)})


def example_params() -> dict:
    """An example to try the data set without Python: scikit-learn's digits as arrays,
    groups = even / odd digit (registered in this process)."""
    from .digits import _raw

    X, y = _raw()
    groups = np.where(y % 2 == 0, "even", "odd")
    return ArrayData(X, y, groups=groups, name="digits (example)").register()


Arrays.example_params = staticmethod(example_params)  # used by the tests and the app
