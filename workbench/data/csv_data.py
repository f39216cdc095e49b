"""``csv``: a user's own table as a workbench data set, plus the shared table encoder.

Why: reweighting questions are most interesting on one's own data. Name a file, the
target column and (optionally) a group column, and every scheme, metric and figure works.

Preprocessing (all statistics from the training split only, so nothing leaks): numeric
columns are standardised; a numeric column with missing values in train is imputed with
the train median and gets a 0/1 "<col> was missing" indicator column; categorical (text,
bool) columns are one-hot encoded on the train categories, a missing value being its own
"missing" category (a category unseen in train is all zeros); a categorical column with
more than ``max_categories`` distinct train values (ids, free text, dates) is dropped with
a note. Rows whose target is missing are dropped with a note. Infinite or huge numeric
values (``|x| > MAX_ABS``) are an error naming the columns and the number of bad rows. The
group column stays a feature (as in ``adult``); groups are for weighting and evaluation.
A regression target is standardised with train statistics (``extra["target_mean"]``,
``extra["target_std"]``).

``task="auto"``: regression when the target is numeric (not bool) and has non-integer
values or more than 20 distinct values, classification otherwise. Splits are stratified by
label and group where every stratum has at least 5 rows (else by label, else none).

Example:
    >>> import pandas as pd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.csv")
    >>> pd.DataFrame({"x": range(40), "c": ["a", "b"] * 20, "y": [0, 1] * 20}).to_csv(path)
    >>> b = CSVData(path=path, target="y", group="c").load(seed=0)
    >>> b.task, b.class_names, b.group_names, len(b.train) + len(b.val) + len(b.test)
    ('classification', ['0', '1'], ['a', 'b'], 40)
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import Params, param
from ..registry import check
from .base import CLASSIFICATION, DATASETS, REGRESSION, DatasetBundle, Split, split_three

TASKS = ("auto", CLASSIFICATION, REGRESSION)
MISSING = "missing"
AUTO_MAX_CLASSES = 20  # task="auto": a numeric target with more distinct values is regression
# A numeric cell beyond this magnitude (or +-inf) is a data error: squaring it while
# standardising overflows float64, and training would only report a NaN loss at step 0.
MAX_ABS = 1e150


@dataclass
class TableEncoder:
    """Standardise numeric and one-hot categorical columns with statistics of one frame.

    Example:
        >>> df = pd.DataFrame({"n": [1.0, None, 3.0], "c": ["a", "b", None]})
        >>> enc = TableEncoder(["n"], ["c"]).fit(df)
        >>> enc.feature_names
        ['n', 'n was missing', 'c=a', 'c=b', 'c=missing']
    """

    numeric: list
    categorical: list
    log1p: tuple = ()  # numeric columns transformed with log1p first (heavy tails)
    stats: dict = field(default_factory=dict)

    def _numeric(self, df: pd.DataFrame, col: str) -> np.ndarray:
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
        return np.log1p(v) if col in self.log1p else v

    @staticmethod
    def _text(df: pd.DataFrame, col: str) -> pd.Series:
        return df[col].astype(object).where(df[col].notna(), MISSING).astype(str)

    def fit(self, df: pd.DataFrame) -> TableEncoder:
        for col in self.numeric:
            v = self._numeric(df, col)
            missing = bool(np.isnan(v).any())
            med = float(np.nanmedian(v)) if (~np.isnan(v)).any() else 0.0
            v = np.where(np.isnan(v), med, v)
            std = float(v.std()) or 1.0
            self.stats[col] = {"median": med, "mean": float(v.mean()), "std": std,
                               "indicator": missing}
        for col in self.categorical:
            self.stats[col] = {"categories": sorted(self._text(df, col).unique())}
        return self

    @property
    def feature_names(self) -> list[str]:
        names = []
        for col in self.numeric:
            names += [col] + ([f"{col} was missing"] if self.stats[col]["indicator"] else [])
        for col in self.categorical:
            names += [f"{col}={v}" for v in self.stats[col]["categories"]]
        return names

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        parts = []
        for col in self.numeric:
            s, v = self.stats[col], self._numeric(df, col)
            isnan = np.isnan(v)
            parts.append(((np.where(isnan, s["median"], v) - s["mean"]) / s["std"])[:, None])
            if s["indicator"]:
                parts.append(isnan.astype(np.float64)[:, None])
        for col in self.categorical:
            cats = self.stats[col]["categories"]
            codes = pd.Index(cats).get_indexer(self._text(df, col))  # unseen: -1
            onehot = np.zeros((len(df), len(cats)))
            rows = np.flatnonzero(codes >= 0)
            onehot[rows, codes[rows]] = 1.0
            parts.append(onehot)
        if not parts:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)


@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """Parse a CSV (delimiter sniffed among , ; tab |; .gz read as gzip); cached per version."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(65536)
    except (OSError, EOFError) as err:  # e.g. a .gz file that is not gzip
        raise ValueError(f"could not read {path} as a CSV file: {err}") from None
    if b"\x00" in head:
        raise ValueError(f"could not read {path} as a CSV file: it holds binary data")
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        sample = head.decode("latin-1")
    try:
        sep = csv.Sniffer().sniff(sample.split("\n", 50)[0] if sample else "", ",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        df = pd.read_csv(path, sep=sep, encoding_errors="replace")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = "the file is empty" if isinstance(err, pd.errors.EmptyDataError) else \
            str(err).strip().splitlines()[0]
        raise ValueError(f"could not read {path} as a CSV file: {reason}") from None
    if df.shape[1] < 2:
        raise ValueError(f"could not read {path} as a CSV file: found {df.shape[1]} column(s);"
                         " a CSV here needs a header row, a target and at least one feature")
    return df


def _check_finite(df: pd.DataFrame, path: Path) -> None:
    """Infinite or huge numbers are a data error, named with their columns and row counts.

    Example:
        >>> _check_finite(pd.DataFrame({"a": [1.0, float("inf")], "b": [1e308, -1e308]}),
        ...               Path("t.csv"))
        Traceback (most recent call last):
        ...
        ValueError: csv t.csv has infinite or huge values (|x| > 1e+150) in column 'a' \
(1 row), 'b' (2 rows); fix or remove those rows (an empty cell is a missing value, which is fine)
    """
    bad = []
    for col in df.columns:
        if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            v = df[col].to_numpy(np.float64)
            n = int((np.abs(v[~np.isnan(v)]) > MAX_ABS).sum())
            if n:
                bad.append(f"{col!r} ({n} row{'s' * (n > 1)})")
    check(not bad, f"csv {path} has infinite or huge values (|x| > {MAX_ABS:g}) in column "
          f"{', '.join(bad)}; fix or remove those rows (an empty cell is a missing value, "
          "which is fine)")


def _auto_task(y: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return CLASSIFICATION
    v = y.to_numpy(np.float64)
    integral = bool(np.all(v == np.round(v)))
    return CLASSIFICATION if integral and y.nunique() <= AUTO_MAX_CLASSES else REGRESSION


def _strata(y: np.ndarray, g: np.ndarray, task: str) -> np.ndarray | None:
    options = [y * (g.max() + 1) + g, y] if task == CLASSIFICATION else [g]
    for s in options:
        counts = np.unique(s, return_counts=True)[1]
        if len(counts) > 1 and counts.min() >= 5:
            return s
    return None


@DATASETS.register("csv")
@dataclass(frozen=True, kw_only=True)
class CSVData(Params):
    """A user's CSV file: ``path`` (required), ``target`` column, optional ``group`` column.

    ``task``: "auto" (default), "classification" or "regression"; ``val`` (0.15) and
    ``test`` (0.2) are split fractions; ``max_categories`` (50) caps the group column's
    distinct values (an error) and a categorical feature's (the column is dropped, noted).
    Class names are the target's values as strings; group names the group column's
    values ("missing" for empty cells), or one group "all" when ``group`` is "".

    Example:
        >>> CSVData().load(seed=0)
        Traceback (most recent call last):
        ...
        ValueError: csv: `path` is required (the CSV file to read)
    """

    task: str = param("auto", choices=TASKS,  # shadows the ClassVar; reset below the class
                      help="'auto' reads it from the target column (few distinct values: "
                           "classification), or force classification / regression.")
    path: str = param("", help="The CSV file to read (required).",
                      file_types=("csv", "csv.gz"))
    target: str = param("", help="The column to predict (required).", columns_of="path")
    group: str = param("", columns_of="path",
                       help="Optional column whose values are the groups ('' for one group "
                            "'all').")
    val: float = param(0.15, low=0, high=0.5, closed="neither", noun="a fraction",
                       help="Fraction of the rows held out for validation.")
    test: float = param(0.2, low=0, high=0.5, closed="neither", noun="a fraction",
                        help="Fraction of the rows held out for testing.")
    max_categories: int = param(50, low=2, help="Most distinct values of the group column (an "
                                                "error beyond) or of a categorical feature "
                                                "(dropped beyond).")

    def _frame(self) -> pd.DataFrame:
        check(self.path.strip() != "", "csv: `path` is required (the CSV file to read)")
        path = Path(self.path).expanduser()
        check(path.is_file(), f"csv file not found: {path}")
        st = os.stat(path)
        df = _read(str(path.resolve()), st.st_mtime_ns, st.st_size).copy()
        df.columns = [str(c) for c in df.columns]
        cols = ", ".join(df.columns)
        check(self.target != "", f"csv: `target` is required: the column to predict; "
              f"columns: {cols}")
        check(self.target in df.columns, f"csv target column {self.target!r} not found; "
              f"columns: {cols}")
        check(self.group == "" or self.group in df.columns,
              f"csv group column {self.group!r} not found; columns: {cols}")
        for col in df.columns:
            check(df[col].notna().any(), f"csv column {col!r} is entirely empty; remove it "
                  "from the file")
        _check_finite(df, path)
        return df

    def files(self) -> list[str]:
        """The files a run reads: their content is part of the run store's key."""
        return [self.path] if self.path.strip() else []

    def preflight(self) -> None:
        """Read the file and check the columns (``RunConfig.validate`` calls this), so a
        wrong path, column or value is reported before anything trains or is stored."""
        self._frame()

    def load(self, seed: int) -> DatasetBundle:
        df = self._frame()
        notes = []
        keep = df[self.target].notna().to_numpy()
        if not keep.all():
            notes.append(f"{int((~keep).sum())} rows with a missing target dropped")
            df = df[keep].reset_index(drop=True)
        check(len(df) >= 20, f"csv needs at least 20 rows with a target, got {len(df)}")
        target = df[self.target]
        task = _auto_task(target) if self.task == "auto" else self.task
        if task == REGRESSION:
            check(pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target),
                  f"csv target {self.target!r} is not numeric (e.g. {target.iloc[0]!r}), so "
                  "task='regression' cannot use it; use task='classification'")
            values, class_names = target.to_numpy(np.float64), []
        else:
            classes = sorted(target.unique())
            check(len(classes) >= 2, f"csv target {self.target!r} has one class "
                  f"({str(classes[0])!r}); a classifier needs at least 2")
            check(len(classes) <= self.max_categories,
                  f"csv target {self.target!r} has {len(classes)} classes, more than "
                  f"max_categories={self.max_categories}; use task='regression' or raise "
                  "max_categories")
            values = target.map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
            class_names = [str(c) for c in classes]
        if self.group:
            gcol = df[self.group]
            levels = sorted(gcol.dropna().unique(), key=lambda v: (isinstance(v, str), v))
            check(len(levels) <= self.max_categories,
                  f"csv group column {self.group!r} has {len(levels)} distinct values, more "
                  f"than max_categories={self.max_categories}; pick a coarser column or raise "
                  "max_categories")
            group_names = [str(v) for v in levels] + ([MISSING] if gcol.isna().any() else [])
            g = gcol.map({v: i for i, v in enumerate(levels)}).fillna(len(levels))
            g = g.to_numpy(np.int64)
        else:
            g, group_names = np.zeros(len(df), np.int64), ["all"]
        y_int = values.astype(np.int64) if task == CLASSIFICATION else np.zeros(len(df), int)
        tr, va, te = split_three(len(df), self.val, self.test, seed, _strata(y_int, g, task))
        features = [c for c in df.columns if c != self.target]
        numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])
                   and not pd.api.types.is_bool_dtype(df[c])]
        categorical = [c for c in features if c not in numeric]
        wide = [c for c in categorical if df[c].iloc[tr].nunique() > self.max_categories]
        if wide:
            notes.append(f"dropped categorical columns with more than {self.max_categories} "
                         f"values: {', '.join(wide)}")
        categorical = [c for c in categorical if c not in wide]
        check(numeric or categorical, "csv has no usable feature column besides the target")
        enc = TableEncoder(numeric, categorical).fit(df.iloc[tr])
        extra = {"feature_names": enc.feature_names, "path": self.path, "target": self.target,
                 "group": self.group, "dropped_columns": wide}
        if task == REGRESSION:
            mean, std = float(values[tr].mean()), float(values[tr].std()) or 1.0
            values = ((values - mean) / std).astype(np.float32)
            extra.update(target_mean=mean, target_std=std)
        splits = [Split(enc.transform(df.iloc[idx]), values[idx], g[idx], ids=idx.astype(np.int64))
                  for idx in (tr, va, te)]
        return DatasetBundle(
            name=self.name, task=task, train=splits[0], val=splits[1], test=splits[2],
            class_names=class_names, group_names=group_names,
            notes="; ".join(notes or ["no rows or columns dropped"]), extra=extra)


def example_params() -> dict:
    """Params for the bundled example (1,500 rows of UCI Adult as a plain CSV file)."""
    from .adult import data_dir

    return {"path": str(data_dir() / "examples" / "adult_sample.csv"), "target": "income",
            "group": "sex"}


CSVData.example_params = staticmethod(example_params)  # used by the tests and the app

# The registry and RunConfig read a data set's task from the class; a CSV's real task is
# only known once the file is read (the bundle carries it), so the class says
# classification, the common case, and the ``task`` field keeps the requested mode.
CSVData.task = CLASSIFICATION
