"""``RunConfig``: everything that defines a run, validated before any training starts.

A config is a frozen dataclass of plain values (names and dicts), so it can be hashed
for the run store, written to JSON, and rebuilt from CLI flags. ``validate`` checks every
name against its registry and every range, raising a ValueError that says what is
allowed; the CLI turns that into one line on stderr and exit code 2.

Example:
    >>> cfg = RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
    ...                 scheme="linupper", scheme_params={"r": 1.0}, epochs=5)
    >>> cfg.validate().scheme
    'linupper'
    >>> RunConfig(scheme="nope").validate()
    Traceback (most recent call last):
    ...
    ValueError: unknown scheme 'nope'; valid schemes: ...
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .registry import check

OPTIMIZERS = ("adam", "sgd")
SELECTIONS = ("last", "best_val_accuracy", "best_val_worst_group_accuracy", "best_val_loss")
# selection rule -> (validation metric, over "all" samples or the "worst" group); the
# direction (which value is best, which group is worst) comes from the metric table,
# ``workbench.metrics.catalog``. "loss" means "mse" on a regression task.
SELECTION_RULES = {"best_val_accuracy": ("accuracy", "all"),
                   "best_val_worst_group_accuracy": ("accuracy", "worst"),
                   "best_val_loss": ("loss", "all")}
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "digits"
    dataset_params: dict = field(default_factory=dict)
    imbalance: list = field(default_factory=list)  # [{"kind": "longtail", "ratio": 50}, ...]
    scheme: str = "uniform"
    scheme_params: dict = field(default_factory=dict)
    model: str = "mlp"
    model_params: dict = field(default_factory=dict)
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 30
    seed: int = 0
    data_seed: int = 0
    eval_every: int = 1  # epochs between evaluations of train/val/test
    track: int = 256  # samples whose weight and loss are recorded at every step
    selection: str = "last"  # which checkpoint the summary reports
    device: str = "auto"

    # ---- construction -------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        check(not unknown, f"unknown config field(s) {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(names))}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    def replace(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    def key(self, code_version: str = "", data: dict | None = None) -> str:
        """Stable hash of the full config (and code version, and ``data``: the content
        digests of the files the run reads, ``workbench.data.fingerprint``): the run
        store's key."""
        content = {"config": self.to_dict(), "code": code_version}
        if data:  # only file-based data sets: every other key stays as it was
            content["data"] = data
        blob = json.dumps(content, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def experiment(self) -> str:
        """Hash of everything but the scheme, its parameters and the seed: runs with the
        same ``experiment()`` differ only in what a comparison compares or averages over,
        so only they may be pooled into one comparison."""
        d = {k: v for k, v in self.to_dict().items()
             if k not in ("scheme", "scheme_params", "seed")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Short human label: scheme plus its non-default parameters."""
        if not self.scheme_params:
            return self.scheme
        inner = ", ".join(f"{k}={v}" for k, v in sorted(self.scheme_params.items()))
        return f"{self.scheme}({inner})"

    # ---- validation ---------------------------------------------------------
    def validate(self) -> RunConfig:
        """Check names and ranges; build each component once to validate its params."""
        from . import DATASETS, MODELS, SCHEMES, TRANSFORMS

        for name, kind in (("scheme_params", dict), ("dataset_params", dict),
                           ("model_params", dict), ("imbalance", list)):
            check(isinstance(getattr(self, name), kind),
                  f"{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}")
        dataset = DATASETS.create(self.dataset, **self.dataset_params)
        scheme = SCHEMES.create(self.scheme, **self.scheme_params)
        MODELS.create(self.model, **self.model_params)
        for i, t in enumerate(self.imbalance):
            check(isinstance(t, dict) and "kind" in t,
                  f"imbalance[{i}] must be a dict with a 'kind' key "
                  f"(one of {', '.join(TRANSFORMS.names())}), got {t!r}")
            params = {k: v for k, v in t.items() if k != "kind"}
            TRANSFORMS.create(t["kind"], **params)
            t_tasks = getattr(TRANSFORMS.get(t["kind"]), "tasks", ())
            check(not t_tasks or DATASETS.get(self.dataset).task in t_tasks,
                  f"imbalance transform {t['kind']!r} needs a {' or '.join(t_tasks)} data set; "
                  f"{self.dataset!r} is a {DATASETS.get(self.dataset).task} task")
        check(self.optimizer in OPTIMIZERS,
              f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
        check(self.selection in SELECTIONS,
              f"unknown selection {self.selection!r}; valid: {', '.join(SELECTIONS)}")
        check(self.device in DEVICES,
              f"unknown device {self.device!r}; valid devices: {', '.join(DEVICES)}")
        _positive_number(self.lr, "lr", upper=10.0)
        check(_is_number(self.weight_decay) and self.weight_decay >= 0,
              f"weight_decay must be >= 0, got {self.weight_decay!r}")
        for name, low in (("batch_size", 1), ("epochs", 1), ("eval_every", 1), ("track", 0),
                          ("seed", 0), ("data_seed", 0)):
            value = getattr(self, name)
            check(isinstance(value, int) and not isinstance(value, bool) and value >= low,
                  f"{name} must be an integer >= {low}, got {value!r}")
        check(self.epochs <= 10_000, f"epochs must be <= 10000, got {self.epochs}")
        if hasattr(dataset, "preflight"):  # a file-based data set: the file and its columns
            dataset.preflight()
        task = DATASETS.get(self.dataset).task
        scheme.check_task(task, self.dataset)
        m_tasks = getattr(MODELS.get(self.model), "tasks", ())
        check(not m_tasks or task in m_tasks,
              f"model {self.model!r} fits {' and '.join(m_tasks)} tasks; {self.dataset!r} is "
              f"a {task} task" + ("; use model='transformer' for the lm task" if task == "lm"
                                  else ""))
        return self


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def _positive_number(x: Any, name: str, upper: float | None = None) -> None:
    check(_is_number(x) and x > 0, f"{name} must be a number > 0, got {x!r}")
    if upper is not None:
        check(x <= upper, f"{name} must be <= {upper}, got {x!r}")
