"""Each data set's default comparison, as the sidebar sets it up when the data set is chosen.

Why one place: the sidebar applies it to its widgets, and ``benchmarks/app_budgets.py``
times it for the README's table, so the table measures what a user gets. A data set class
may declare ``default_budget`` (``epochs``, ``batch_size``, ``dataset_params``): the
budget under which its default comparison, 3 schemes x 3 seeds, finishes within about 30 s
on two CPU cores. The model is the first that fits the data set's task (mlp where it can),
the long-tail transform is kept where the task has classes, and class-count schemes weight
by group where it has none.

Example:
    >>> exp = default_experiment("text_domains")
    >>> exp.config.model, exp.config.epochs, exp.config.imbalance
    ('transformer', 3, [])
"""

from __future__ import annotations

import os

from workbench import DATASETS, MODELS, SCHEMES, TRANSFORMS, RunConfig
from workbench.params import specs

from .experiment import Experiment

DEFAULT_SCHEMES = ["uniform", "inverse_frequency", "linupper"]
DEFAULT_IMBALANCE = [{"kind": "longtail", "ratio": 50}]
DEFAULT_SEEDS = 3
RUN_DEFAULTS = {s.name: s.default for s in specs(RunConfig)}


def default_budget(dataset: str) -> dict:
    """The data set's declared ``default_budget`` (``{}``: RunConfig's defaults)."""
    return dict(getattr(DATASETS.get(dataset), "default_budget", None) or {})


def default_epochs(dataset: str = "digits") -> int:
    """The data set's budget, else ``RunConfig``'s epochs (one set of defaults: the CLI,
    the API and the app share store keys); ``WORKBENCH_APP_DEFAULT_EPOCHS`` overrides it
    (tests use 1-3)."""
    return int(os.environ.get("WORKBENCH_APP_DEFAULT_EPOCHS",
                              default_budget(dataset).get("epochs", RUN_DEFAULTS["epochs"])))


def offered(registry) -> list[str]:
    """The names the app offers: not those whose objects live in a Python session
    (``from_python``: ``arrays``, ``module``; use them from Python)."""
    return [n for n in registry.names() if not getattr(registry.get(n), "from_python", False)]


def model_for(task: str, current: str = "mlp", inputs: str = "vector") -> str:
    """The model for a data set of ``task`` and ``inputs`` (vector or image): ``current``
    when it is mlp or linear and fits, else mlp where it fits, else the first offered model
    that does (``cnn`` for images, ``transformer`` for lm)."""
    def fit(m: str) -> bool:
        cls = MODELS.get(m)
        return task in cls.tasks and getattr(cls, "inputs", "vector") == inputs
    if fit(current) and current in ("mlp", "linear"):  # a user's plain choice is kept
        return current
    return next(m for m in ("mlp", *offered(MODELS)) if fit(m))


def fits(kind: str, task: str) -> bool:
    """Whether the transform ``kind`` applies to a data set of ``task``."""
    return task in getattr(TRANSFORMS.get(kind), "tasks", (task,))


def scheme_params(name: str, task: str) -> dict:
    """Per group, not per class, where the task has no classes."""
    has_by = any(p.name == "by" for p in SCHEMES.spec(name))
    return {"by": "group"} if has_by and task != "classification" else {}


def default_experiment(dataset: str) -> Experiment:
    """The comparison the app shows for ``dataset`` with every control at its default."""
    budget, task = default_budget(dataset), DATASETS.get(dataset).task
    params = {**budget.get("dataset_params", {}),
              **getattr(DATASETS.get(dataset), "example_params", dict)()}
    imbalance = budget.get("imbalance", [t for t in DEFAULT_IMBALANCE if fits(t["kind"], task)])
    cfg = RunConfig(dataset=dataset, dataset_params=params, imbalance=imbalance,
                    model=model_for(task, inputs=getattr(DATASETS.get(dataset), "inputs",
                                                         "vector")), epochs=default_epochs(dataset),
                    batch_size=budget.get("batch_size", RUN_DEFAULTS["batch_size"]))
    schemes = [(s, scheme_params(s, task)) for s in DEFAULT_SCHEMES]
    return Experiment(cfg, schemes, list(range(DEFAULT_SEEDS)), n_seeds=DEFAULT_SEEDS)
