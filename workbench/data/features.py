"""``features``: precomputed embeddings from a ``.npz`` or ``.parquet`` file.

Why: the group-robustness setting on a budget is a reweighted last layer over frozen
embeddings (deep feature re-weighting, DFR: Kirichenko, Izmailov and Wilson, "Last Layer
Re-Training is Sufficient for Robustness to Spurious Correlations", ICLR 2023). Embed
Waterbirds or CelebA once with CLIP or a ResNet, save the features, and every scheme,
metric and figure of the workbench runs on them with ``model="linear"`` in seconds.

File formats:

- ``.npz`` (``numpy.savez``): arrays ``X`` (n, d) numeric, the labels (``label``, default
  ``y``: integers or strings), the groups (``group``, default ``g``; "" for one group
  "all"), optionally the split (``split``, default ``split``: values train/val/test or
  0/1/2) and optionally ``class_names`` / ``group_names`` (strings naming integer labels
  and groups 0, 1, ...).
- ``.parquet``: one row per sample; the ``label``, ``group`` and optional ``split``
  columns, and as features every other column (numeric), or one column that holds a
  fixed-length list of numbers per row (how most embedding pipelines write a vector).

Without a split array or column, val and test are held out (``val`` 0.15, ``test`` 0.2),
seeded and stratified by label and group like ``csv``. Features are standardised with the
training split's mean and standard deviation (``standardize``, as DFR's code does before
its logistic regression). The file's content is part of the run store's key (``files``).

Example:
    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "emb.npz")
    >>> rng = np.random.default_rng(0)
    >>> np.savez(path, X=rng.normal(size=(60, 8)), y=np.arange(60) % 2, g=np.arange(60) % 3)
    >>> b = Features(path=path).load(seed=0)
    >>> b.n_features, b.class_names, b.group_names, len(b.train) + len(b.val) + len(b.test)
    (8, ['0', '1'], ['0', '1', '2'], 60)
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from ..params import Params, param
from ..registry import check
from .array_checks import as_numeric, check_finite, codes, split_codes
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split, split_three
from .csv_data import _strata

SUFFIXES = (".npz", ".parquet")
MIN_ROWS = 20  # held-out splits need a few rows per split


@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int) -> dict:
    """{name: array} of an .npz file, or {column: array} of a .parquet file (cached per
    version of the file; callers must not modify the arrays)."""
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except ValueError as err:
            if "allow_pickle" in str(err) or "pickle" in str(err):
                raise ValueError(f"features file {path} holds Python objects (pickled arrays); "
                                 "save plain numeric or string arrays") from None
            raise ValueError(f"could not read {path} as an .npz file: {err}") from None
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"could not read {path} as an .npz file: {err}") from None
    try:
        df = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises its own types for a file that is not parquet
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"could not read {path} as a .parquet file: {reason}") from None
    return {str(c): df[c].to_numpy() for c in df.columns}


def _stack_lists(col: np.ndarray, name: str, path: str) -> np.ndarray:
    """A column of equal-length number lists as an (n, d) array."""
    lengths = {len(v) if v is not None and hasattr(v, "__len__") else -1 for v in col}
    check(-1 not in lengths, f"features column {name!r} of {path} has empty cells; every row "
                             "needs an embedding")
    check(len(lengths) == 1, f"features column {name!r} of {path} holds lists of different "
                             f"lengths ({', '.join(map(str, sorted(lengths)[:5]))}); every "
                             "embedding must have the same length")
    return np.stack([np.asarray(v) for v in col])


@DATASETS.register("features")
@dataclass(frozen=True, kw_only=True)
class Features(Params):
    """Precomputed embeddings from an .npz or .parquet file (DFR, Kirichenko et al. 2023).

    Frozen CLIP or ResNet features of e.g. Waterbirds: the setting of last-layer reweighting.

    ``path`` (required), ``label`` (default "y"), ``group`` (default "g"; "" for one group),
    ``split`` (default "split": used when the file has it; any other name must exist);
    ``val``/``test`` fractions held out when there is no split; ``standardize`` with the
    training split's statistics. ``extra``: ``path``, ``feature_names``, ``split_from``
    ("file" or "held out").

    Example:
        >>> Features().load(seed=0)
        Traceback (most recent call last):
        ...
        ValueError: features: `path` is required (an .npz or .parquet file of embeddings)
    """

    task: ClassVar[str] = CLASSIFICATION
    # the app's default: the file's own group shift, no extra long tail
    default_budget: ClassVar[dict] = {"imbalance": []}
    path: str = param("", help="The .npz or .parquet file of embeddings (required).",
                      file_types=("npz", "parquet"))
    label: str = param("y", columns_of="path",
                       help="The array (.npz) or column (.parquet) of class labels.")
    group: str = param("g", columns_of="path",
                       help="The array or column of group ids ('' for one group 'all').")
    split: str = param("split", columns_of="path",
                       help="The array or column of train/val/test (or 0/1/2); 'split' is "
                            "used when present, else val and test are held out.")
    val: float = param(0.15, low=0, high=0.5, closed="neither", noun="a fraction",
                       help="Fraction held out for validation (when there is no split).")
    test: float = param(0.2, low=0, high=0.5, closed="neither", noun="a fraction",
                        help="Fraction held out for testing (when there is no split).")
    standardize: bool = param(True, help="Standardise every feature with the training "
                                         "split's mean and standard deviation.")

    def files(self) -> list[str]:
        """The file a run reads: its content is part of the run store's key."""
        return [self.path] if self.path.strip() else []

    def _arrays(self) -> tuple[dict, str]:
        check(self.path.strip() != "",
              "features: `path` is required (an .npz or .parquet file of embeddings)")
        path = Path(self.path).expanduser()
        check(path.suffix.lower() in SUFFIXES,
              f"features reads .npz or .parquet files, got {path.name!r}")
        check(path.is_file(), f"features file not found: {path}")
        st = os.stat(path)
        return _read(str(path.resolve()), st.st_mtime_ns, st.st_size), str(path)

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                                list[str], dict]:
        """X (n, d) float64, labels, groups (or None), split codes (or None), feature names,
        and the optional name arrays."""
        arrays, path = self._arrays()
        npz = path.lower().endswith(".npz")
        kind = "array" if npz else "column"
        listed = ", ".join(arrays) or "(none)"
        check(self.label != "", f"features: `label` is required (the {kind} of class labels)")
        for field, name in (("label", self.label), ("group", self.group)):
            check(name == "" or name in arrays,
                  f"features file {path} has no {kind} {name!r} ({field}); {kind}s: {listed}")
        split = self.split if self.split in arrays else None
        check(split is not None or self.split in ("", "split"),
              f"features file {path} has no {kind} {self.split!r} (split); {kind}s: {listed}")
        names = {k: arrays.get(k) for k in ("class_names", "group_names")} if npz else {}
        if npz:
            check("X" in arrays, f"features file {path} has no array 'X' (the embeddings, "
                                 f"samples x features); arrays: {listed}")
            X = arrays["X"]
            check(X.ndim == 2, f"features X must be 2-D (samples x features), got shape "
                               f"{X.shape}; flatten or pool the embeddings first")
            feature_names = [f"x{j}" for j in range(X.shape[1])]
        else:
            taken = {self.label, self.group, split} - {"", None}
            feats = [c for c in arrays if c not in taken]
            check(feats, f"features file {path} has no feature column besides "
                         f"{', '.join(sorted(taken))}")
            listy = [c for c in feats if arrays[c].dtype == object and len(arrays[c])
                     and isinstance(arrays[c][0], (list, tuple, np.ndarray))]
            if len(feats) == 1 and listy:
                X, feature_names = _stack_lists(arrays[feats[0]], feats[0], path), None
            else:
                bad = [c for c in feats if arrays[c].dtype.kind not in "biuf"]
                if bad:
                    c, more = bad[0], f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
                    check(False, f"features columns must be numeric; column {c!r} has dtype "
                                 f"{arrays[c].dtype} (e.g. {arrays[c][0]!r}){more}; drop it, "
                                 "or name it as the label, group or split")
                X, feature_names = np.column_stack([arrays[c] for c in feats]), feats
            if feature_names is None:
                feature_names = [f"{feats[0]}[{j}]" for j in range(X.shape[1])]
        n = len(X)
        for field, name in (("label", self.label), ("group", self.group), ("split", split)):
            if name:
                m = len(arrays[name])
                check(m == n, f"features arrays disagree in length: X has {n} rows, "
                              f"{field} {name!r} has {m}")
        X = as_numeric(X, "features X")
        check_finite(X, "features X")
        check(X.shape[1] >= 1, "features X has no columns (shape "
                               f"{X.shape}); it needs at least one feature")
        return (X, arrays[self.label], arrays[self.group] if self.group else None,
                split_codes(arrays[split], f"features split {split!r}") if split else None,
                feature_names, names)

    def preflight(self) -> None:
        """Read the file and check arrays, shapes and dtypes (``RunConfig.validate`` calls
        this), so a bad file is reported before anything trains or is stored."""
        self.load(seed=0)

    def load(self, seed: int) -> DatasetBundle:
        X, labels, groups, split, feature_names, names = self._columns()
        y, class_names = codes(labels, f"features label {self.label!r}",
                                names.get("class_names"))
        check(len(class_names) >= 2, f"features label {self.label!r} has one class "
                                     f"({class_names[0]!r}); a classifier needs at least 2")
        if groups is None:
            g, group_names = np.zeros(len(y), np.int64), ["all"]
        else:
            g, group_names = codes(groups, f"features group {self.group!r}",
                                    names.get("group_names"))
        if split is None:
            check(len(y) >= MIN_ROWS, f"features needs at least {MIN_ROWS} rows to hold out "
                                      f"val and test, got {len(y)}")
            tr, va, te = split_three(len(y), self.val, self.test, seed,
                                     _strata(y, g, CLASSIFICATION))
        else:
            tr, va, te = (np.flatnonzero(split == i) for i in range(3))
        if self.standardize:
            mean, std = X[tr].mean(0), X[tr].std(0)
            X = (X - mean) / np.where(std > 0, std, 1.0)
        X = X.astype(np.float32)
        splits = [Split(X[idx], y[idx], g[idx], ids=idx.astype(np.int64)) for idx in (tr, va, te)]
        source = "file" if split is not None else "held out"
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION, train=splits[0], val=splits[1],
            test=splits[2], class_names=class_names, group_names=group_names,
            notes=f"{X.shape[1]} precomputed features; splits {source}"
                  + ("; standardised with training statistics" if self.standardize else ""),
            extra={"path": self.path, "feature_names": feature_names, "split_from": source})


def example_arrays(n_dims: int = 16) -> dict[str, np.ndarray]:
    """The bundled example (``data/examples/digits_features.npz``): a Waterbirds-like
    embedding of scikit-learn's digits, built here so that anyone can rebuild it.

    X: the digits projected on their first ``n_dims - 2`` principal components (the "core"
    features, as a pretrained encoder would give) plus 2 dimensions that encode a spurious
    attribute a with noise; y = digit >= 5; a = y for 95% of the training split and is
    independent of y in val and test (``spurious_digits``' construction); g = 2 y + a.
    """
    from sklearn.decomposition import PCA

    from .digits import _raw
    from .spurious import GROUP_NAMES, attribute

    X, digit = _raw()
    y = (digit >= 5).astype(np.int64)
    tr, va, te = split_three(len(y), val=0.15, test=0.25, seed=0, stratify=digit)
    rng = np.random.default_rng(13)
    split, a = np.zeros(len(y), np.int64), np.zeros(len(y), np.int64)
    for code, idx, agree in ((0, tr, 0.95), (1, va, 0.5), (2, te, 0.5)):
        split[idx], a[idx] = code, attribute(y[idx], agree, rng)
    core = PCA(n_components=n_dims - 2, svd_solver="full").fit(X[tr]).transform(X)
    spurious = (2.0 * a - 1.0)[:, None] + 0.3 * rng.normal(size=(len(y), 2))
    return {"X": np.hstack([core, 3.0 * spurious]).astype(np.float32), "y": y, "g": 2 * y + a,
            "split": split, "class_names": np.array(["0-4", "5-9"]),
            "group_names": np.array(GROUP_NAMES)}


def example_params() -> dict:
    """Params for the bundled example file (see ``example_arrays``)."""
    from .adult import data_dir

    return {"path": str(data_dir() / "examples" / "digits_features.npz")}


Features.example_params = staticmethod(example_params)  # used by the tests and the app
