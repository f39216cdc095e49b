"""``RunConfig``: everything that defines a run, validated before any training starts.

A config is a frozen, keyword-only dataclass of plain values (names and dicts), so it can
be hashed for the run store, written to JSON, and rebuilt from CLI flags. Its own fields
are declared with ``param`` (default, range, help: the CLI's flags come from them).
``validate`` checks every name against its registry and every range, raising a
``ConfigError`` (a ValueError) that says what is allowed and carries its ``owner``
("run", "dataset", "model", "scheme linupper", "transform 1") and ``field``; the CLI turns
that into one line on stderr and exit code 2.

Example:
    >>> cfg = RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
    ...                 scheme="linupper", scheme_params={"r": 1.0}, epochs=5)
    >>> cfg.validate().scheme
    'linupper'
    >>> RunConfig(scheme="nope").validate()  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: unknown scheme 'nope'; valid schemes: ...
    >>> try:
    ...     RunConfig(imbalance=[{"kind": "longtail", "ratio": 0}]).validate()
    ... except ConfigError as err:
    ...     print(err.owner, err.field)
    transform 1 ratio
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .data import DATASETS, TRANSFORMS
from .data.prepare import data_facts
from .models import MODELS
from .nets.base import MAX_PARAMS, count_params
from .params import ConfigError, param, specs
from .registry import check
from .schemes import SCHEMES

OPTIMIZERS = ("adam", "sgd")
SELECTIONS = ("last", "best_val_accuracy", "best_val_worst_group_accuracy", "best_val_loss")
# selection rule -> (validation metric, over "all" samples or the "worst" group); the
# direction (which value is best, which group is worst) comes from the metric table,
# ``workbench.metrics.catalog``. "loss" means "mse" on a regression task.
SELECTION_RULES = {"best_val_accuracy": ("accuracy", "all"),
                   "best_val_worst_group_accuracy": ("accuracy", "worst"),
                   "best_val_loss": ("loss", "all")}
DEVICES = ("auto", "cpu", "cuda")
LR_SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    dataset: str = "digits"
    dataset_params: dict = field(default_factory=dict)
    imbalance: list = field(default_factory=list)  # [{"kind": "longtail", "ratio": 50}, ...]
    scheme: str = "uniform"
    scheme_params: dict = field(default_factory=dict)
    model: str = "mlp"
    model_params: dict = field(default_factory=dict)
    optimizer: str = param("adam", choices=OPTIMIZERS, help="adam, or sgd with momentum.")
    lr: float = param(3e-3, low=0, high=10.0, closed="right", log=True,
                      help="Learning rate (weights have mean 1 under every scheme, so one "
                           "learning rate means the same for all).")
    weight_decay: float = param(0.0, low=0, help="L2 weight decay of the optimizer.")
    momentum: float = param(0.9, low=0, high=1, closed="left",
                            help="SGD momentum (optimizer sgd only).")
    lr_schedule: str = param("constant", choices=LR_SCHEDULES,
                             help="Learning rate after the warm-up: constant, step (x lr_gamma "
                                  "at each of lr_milestones) or cosine (to 0 at the end).")
    warmup_epochs: float = param(0.0, low=0, high=10_000,
                                 help="Epochs of linear learning-rate warm-up (0: none).")
    lr_milestones: list = param([160, 180], item="int", low=1, high=10_000,
                                noun="a non-empty list of epochs, e.g. lr_milestones=[160,180]",
                                help="Epochs at which the step schedule multiplies the "
                                     "learning rate by lr_gamma (Cao et al. 2019: 160, 180).")
    lr_gamma: float = param(0.01, low=0, high=1, closed="right",
                            help="Factor of the step schedule at each milestone.")
    batch_size: int = param(64, low=1, help="B: samples per step. Batch-level schemes "
                                            "(linupper, kl_dro, group_dro...) weight within "
                                            "each batch: with tiny B the Sow et al. weights "
                                            "degenerate.")
    epochs: int = param(30, low=1, high=10_000, help="Passes over the training split.")
    seed: int = param(0, low=0, help="Training seed: initialisation, order, sampling.")
    data_seed: int = param(0, low=0, help="Seed of the data split and the transforms.")
    eval_every: int = param(1, low=1, help="Epochs between evaluations of train/val/test.")
    track: int = param(256, low=0, help="Samples whose weight and loss are recorded at "
                                        "every step.")
    selection: str = param("last", choices=SELECTIONS,
                           help="Which checkpoint the summary reports: the last epoch, or the "
                                "epoch with the best validation accuracy / worst-group "
                                "accuracy / loss. Compare schemes under one rule (mixed rules "
                                "mislead).")
    device: str = param("auto", choices=DEVICES, help="auto (cuda when available), cpu or cuda.")

    # ---- construction -------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        check(not unknown, f"unknown config field(s) {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(names))}", "run", (unknown or [None])[0])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    def replace(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    def key(self, code_version: str = "", data: dict | None = None) -> str:
        """Stable hash of the full config (and code version, and ``data``: the content
        digests of the files the run reads, ``workbench.data.fingerprint``): the run
        store's key."""
        content = {"config": self.canonical().to_dict(), "code": code_version}
        if data:  # only file-based data sets: every other key stays as it was
            content["data"] = data
        blob = json.dumps(content, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def canonical(self) -> RunConfig:
        """The same config with every data set, transform, scheme and model parameter that
        equals its declared default left out (and values as the component holds them:
        ``hidden=256`` is ``[256]``), so that one experiment has one store key and label
        however it was spelled.

        Example:
            >>> RunConfig(scheme="linupper", scheme_params={"r": 1.0}).canonical().scheme_params
            {}
        """
        imbalance = [{"kind": t["kind"], **_canonical(TRANSFORMS, t["kind"],
                                                      {k: v for k, v in t.items() if k != "kind"})}
                     if isinstance(t, dict) and "kind" in t else t for t in self.imbalance]
        return replace(self, imbalance=imbalance,
                       scheme_params=_canonical(SCHEMES, self.scheme, self.scheme_params),
                       dataset_params=_canonical(DATASETS, self.dataset, self.dataset_params),
                       model_params=_canonical(MODELS, self.model, self.model_params))

    def experiment(self) -> str:
        """Hash of everything but the scheme, its parameters and the seed: runs with the
        same ``experiment()`` differ only in what a comparison compares or averages over,
        so only they may be pooled into one comparison."""
        d = {k: v for k, v in self.canonical().to_dict().items()
             if k not in ("scheme", "scheme_params", "seed")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Short human label: scheme plus its non-default parameters."""
        params = _canonical(SCHEMES, self.scheme, self.scheme_params)
        if not params:
            return self.scheme
        inner = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"{self.scheme}({inner})"

    # ---- validation ---------------------------------------------------------
    def validate(self) -> RunConfig:
        """Check names and ranges; build each component once to validate its params.

        Every error is a ``ConfigError`` owned by the control it is about: "dataset",
        "model", "scheme <name>", "transform <i>" (1-based, in order) or "run"."""
        for name, kind in (("scheme_params", dict), ("dataset_params", dict),
                           ("model_params", dict), ("imbalance", list)):
            check(isinstance(getattr(self, name), kind),
                  f"{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}",
                  "run", name)
        with _owned("dataset"):
            dataset = DATASETS.create(self.dataset, **self.dataset_params)
        with _owned(f"scheme {self.scheme}"):
            scheme = SCHEMES.create(self.scheme, **self.scheme_params)
        with _owned("model"):
            MODELS.create(self.model, **self.model_params)
        task = DATASETS.get(self.dataset).task
        for i, t in enumerate(self.imbalance):
            with _owned(f"transform {i + 1}"):
                check(isinstance(t, dict) and "kind" in t,
                      f"imbalance[{i}] must be a dict with a 'kind' key "
                      f"(one of {', '.join(TRANSFORMS.names())}), got {t!r}")
                params = {k: v for k, v in t.items() if k != "kind"}
                TRANSFORMS.create(t["kind"], **params)
                t_tasks = getattr(TRANSFORMS.get(t["kind"]), "tasks", ())
                check(not t_tasks or task in t_tasks,
                      f"imbalance transform {t['kind']!r} needs a {' or '.join(t_tasks)} data "
                      f"set; {self.dataset!r} is a {task} task")
        for spec in specs(RunConfig):
            if spec.name in _DECLARED:
                spec.check(getattr(self, spec.name), owner="run")
        with _owned(f"scheme {self.scheme}"):
            scheme.check_task(task, self.dataset)
        check(self.warmup_epochs <= self.epochs,
              f"warmup_epochs {self.warmup_epochs:g} is longer than the run ({self.epochs} "
              f"epochs); allowed: 0..{self.epochs}", "run", "warmup_epochs")
        check(list(self.lr_milestones) == sorted(set(self.lr_milestones)),
              f"lr_milestones must increase, got {list(self.lr_milestones)}; e.g. [160, 180]",
              "run", "lr_milestones")
        late = [m for m in self.lr_milestones if m >= self.epochs]
        check(self.lr_schedule != "step" or not late,
              f"lr_milestones {late} are not before the last epoch ({self.epochs} epochs): the "
              f"step schedule would never reach them; allowed: 1..{self.epochs - 1}", "run",
              "lr_milestones")
        d_in = getattr(DATASETS.get(self.dataset), "inputs", "vector")
        m_in = getattr(MODELS.get(self.model), "inputs", "vector")
        image_models = [m for m in MODELS.names()
                        if getattr(MODELS.get(m), "inputs", "") == "image"]
        check(d_in == m_in or "image" not in (d_in, m_in),
              f"model {self.model!r} takes {m_in} inputs and {self.dataset!r} has {d_in} inputs"
              + (f"; use one of {', '.join(image_models)}" if d_in == "image" else ""), "model")
        m_tasks = getattr(MODELS.get(self.model), "tasks", ())
        check(not m_tasks or task in m_tasks,
              f"model {self.model!r} fits {' and '.join(m_tasks)} tasks; {self.dataset!r} is "
              f"a {task} task" + ("; use model='transformer' for the lm task" if task == "lm"
                                  else ""), "model")
        if hasattr(dataset, "preflight"):  # a file-based data set: the file and its columns
            with _owned("dataset"):
                dataset.preflight()
        return self.preflight()

    def preflight(self) -> RunConfig:
        """The checks that need the prepared data (its size and widths, cached per data
        config): the batch size fits the training split, the model's parameter count
        (``nets.base.MAX_PARAMS``) fits the data's input and output widths. Run by
        ``validate``, so a config that fails here never starts training."""
        with _owned("run"):
            n_train, n_in, n_out = data_facts(self.dataset, self.dataset_params,
                                              self.imbalance, self.data_seed)
        check(self.batch_size <= n_train,
              f"batch_size {self.batch_size} is larger than the training split ({n_train} "
              f"samples after the imbalance transforms); allowed: 1..{n_train}", "run",
              "batch_size")
        with _owned("model"):
            n = count_params(MODELS.create(self.model, **self.model_params), n_in, n_out)
        check(n <= MAX_PARAMS,
              f"model {self.model} with {self.model_params or 'its defaults'} has {n:,} "
              f"parameters on {self.dataset!r} ({n_in} inputs, {n_out} outputs); the limit "
              f"is {MAX_PARAMS:,} parameters", "model")
        return self


def _canonical(registry, name: str, params: Any) -> Any:
    """``params`` less those equal to ``name``'s declared defaults (unchanged if invalid)."""
    if not isinstance(params, dict) or not params:
        return params
    try:
        held = registry.create(name, **params)
        defaults = {s.name: s.default for s in registry.spec(name)}
    except (ValueError, TypeError):
        return dict(params)
    out = {}
    for k, v in params.items():
        value = getattr(held, k, v)
        value = list(value) if isinstance(value, tuple) else value
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = v
        default = defaults.get(k, object())
        if not (value == default and isinstance(value, bool) == isinstance(default, bool)):
            out[k] = value
    return out


_DECLARED = {f.name for f in fields(RunConfig) if "param" in f.metadata}


@contextmanager
def _owned(owner: str):
    """Re-attribute any error raised inside to ``owner`` (keeping its field, if any)."""
    try:
        yield
    except ConfigError as err:
        raise err.owned(owner) from None
    except ValueError as err:
        raise ConfigError(str(err), owner) from None
