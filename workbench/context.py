"""What a training stage needs, built once per run: device, data tensors, model factory.

``TrainingContext`` is also what a multi-stage scheme's ``prepare(ctx, state)`` receives:
``ctx.fit(scheme, state, epochs, seed, stage=name)`` trains an earlier stage (a JTT
ERM model, a DoReMi reference model, an EL2N scoring run) on the same data, and
``ctx.outputs(model, "train")`` gives that model's outputs on a split. The engine builds
the context with its training loop (``fit_fn``), so this module never imports the engine.

Example:
    >>> import workbench as wb
    >>> ctx = TrainingContext.build(wb.RunConfig(dataset="blobs2d", epochs=1))
    >>> ctx.info(2).total_steps == 2 * ctx.info(1).total_steps
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import SELECTION_RULES, RunConfig
from .data import DatasetBundle, load_prepared
from .data.fingerprint import data_fingerprint
from .evaluation import SplitTensors, predict
from .metrics.catalog import higher_is_better
from .models import MODELS
from .registry import check
from .schemes import SCHEMES, TrainInfo


def resolve_device(name: str) -> torch.device:
    if name == "cuda":
        check(torch.cuda.is_available(), "device 'cuda' was asked for but no GPU is available; "
                                         "use device='cpu' or 'auto'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass
class Replica:
    """One of the R runs a training loop carries: its scheme, scheme state and seed."""

    scheme: Any
    state: dict
    seed: int
    config: RunConfig | None = None  # what callbacks are told (None for earlier stages)


@dataclass(kw_only=True)
class FitResult:
    """The outcome of one stage: model, recorder, evaluation rows, status, final state."""

    stage: str
    model: torch.nn.Module
    recorder: Any  # the replica's records (``recording.ReplicaRecords``)
    eval_rows: list
    status: str
    diverged_step: int | None
    steps: int
    selected_epoch: int
    state: dict
    callbacks: list = field(default_factory=list)
    # val/test outputs of the returned model when the last evaluation already computed
    # them (it ran after the last step, and selection kept that model): finish reuses them
    outputs: dict | None = None


@dataclass
class TrainingContext:
    config: RunConfig
    device: torch.device
    original: DatasetBundle  # before the imbalance transforms
    data: DatasetBundle  # after them (training split only changed)
    splits: dict[str, SplitTensors]
    fit_fn: Callable | None = None
    stages: list[FitResult] = field(default_factory=list)

    @classmethod
    def build(cls, cfg: RunConfig, fit_fn: Callable | None = None) -> TrainingContext:
        device = resolve_device(cfg.device)
        original, data = prepared_data(cfg)
        n_train = len(data.train)
        check(cfg.batch_size <= n_train,
              f"batch_size {cfg.batch_size} is larger than the training split ({n_train} "
              f"samples after the imbalance transforms); allowed: 1..{n_train}", "run",
              "batch_size")  # a ConfigError: the store keeps no failed run of it
        splits = {s: SplitTensors.from_split(getattr(data, s), data.task, device)
                  for s in ("train", "val", "test")}
        return cls(cfg, device, original, data, splits, fit_fn)

    @property
    def n_classes(self) -> int:
        """Number of classes, 0 for regression and lm (no per-class records)."""
        return self.data.n_classes if self.data.task == "classification" else 0

    def info(self, epochs: int, scheme=None) -> TrainInfo:
        """Training-set facts for a stage of ``epochs``; a scheme with ``epoch_size(n)``
        (RS2, pruning) draws fewer samples per epoch, hence fewer steps."""
        tr = self.splits["train"]
        size = scheme.epoch_size(len(tr)) if scheme is not None else len(tr)
        spe = math.ceil(max(size, 1) / self.config.batch_size)
        return TrainInfo(task=self.data.task, y=tr.y, g=tr.g, n_classes=max(self.n_classes, 1),
                         n_groups=self.data.n_groups, total_steps=spe * epochs,
                         steps_per_epoch=spe)

    def build_model(self) -> torch.nn.Module:
        n_out = self.data.n_classes if self.data.task == "classification" else 1
        if self.data.task == "lm":  # logits over the vocabulary
            n_out = int(self.data.extra["vocab_size"])
        spec = MODELS.create(self.config.model, **self.config.model_params)
        model = spec.build(self.data.n_features, n_out).to(self.device)
        if getattr(spec, "from_python", False):  # a user's factory: check it on two samples
            check_module(model, self.splits["train"].X[:2], n_out, self.data.task,
                         f"model factory {spec.title or 'factory'}"
                         f"({self.data.n_features}, {n_out})")
        return model

    def build_optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return make_optimizer(self.config, list(model.parameters()))

    def fit(self, scheme, state=None, epochs: int | None = None, seed: int | None = None,
            stage: str = "stage", scheme_params: dict | None = None) -> FitResult:
        """Train an earlier stage on the same data (``scheme``: a name or an instance)."""
        if isinstance(scheme, str):
            scheme = SCHEMES.create(scheme, **(scheme_params or {}))
        epochs = epochs or self.config.epochs
        if state is None:
            state = scheme.init_state(self.info(epochs, scheme))
        seed = self.config.seed if seed is None else seed
        # earlier stages keep their last epoch: the run's selection rule is for the final model
        check(self.fit_fn is not None, "this context has no training loop: build it with "
                                       "TrainingContext.build(cfg, engine.fit)")
        return self.fit_fn(self, [Replica(scheme, state, seed)], epochs, (), stage=stage,
                           selection="last")[0]

    def outputs(self, model: torch.nn.Module, split: str = "train") -> torch.Tensor:
        """The model's outputs (logits, or predictions) on a whole split, no gradient."""
        return predict(model, self.splits[split].X)


_PREPARED: dict[str, tuple[DatasetBundle, DatasetBundle]] = {}
_CACHE_BYTES = 64 << 20  # larger data sets (images) are loaded afresh, not held


def prepared_data(cfg: RunConfig) -> tuple[DatasetBundle, DatasetBundle]:
    """``load_prepared`` for ``cfg``'s data, kept in this process for the next run.

    Why: loading and transforming digits costs 2-3 ms, which a 60 ms run pays again for
    every seed and every rerun of the dashboard. The key holds the data config and the
    content digests of every file the data set declares (what the run store's key hashes),
    so an edited file is loaded afresh. The cached arrays are made read-only: code that
    wrote into them would change the next run's data, and now fails loudly instead.
    Small data sets only (under 64 MB in all), the two most recent.
    """
    key = json.dumps([cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed,
                      data_fingerprint(cfg.dataset, cfg.dataset_params)],
                     sort_keys=True, default=str)
    if key in _PREPARED:
        return _PREPARED[key]
    pair = load_prepared(cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed)
    arrays = [a for bundle in pair for s in (bundle.train, bundle.val, bundle.test)
              for a in (s.X, s.y, s.g, s.ids, s.noisy) if isinstance(a, np.ndarray)]
    if sum(a.nbytes for a in arrays) <= _CACHE_BYTES:
        for a in arrays:
            a.flags.writeable = False
        while len(_PREPARED) >= 2:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[key] = pair
    return pair


def make_optimizer(cfg: RunConfig, tensors: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Adam or SGD (with ``cfg.momentum``) over ``tensors``, fused where torch has a fused kernel.

    The fused kernels do the whole update in one pass over each tensor: on this CPU, Adam
    over the default MLP takes 78 us instead of 242 us, and over 16 stacked replicas 108 us
    instead of 1.56 ms (``benchmarks/bench.py``). Same rule, same numbers up to float
    rounding (about 1e-7 after 50 steps).
    """
    fused = all(t.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
                and t.device.type in ("cpu", "cuda") for t in tensors)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(tensors, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                fused=fused or None)
    return torch.optim.SGD(tensors, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           fused=fused or None)


def selection_score(selection: str, rows: list[dict], group_names: list[str]) -> float:
    """Validation score that the 'best_val_*' selection rules maximise.

    The rule's metric and reduction are ``config.SELECTION_RULES``; the score is the value,
    negated for a lower-is-better metric (the metric table, ``workbench.metrics.catalog``),
    so higher is always better here; the worst group is the lowest (or highest) value.
    -inf when the validation rows lack the metric; 0 for "last".

    Example:
        >>> rows = [{"split": "val", "level": lv, "group": g, "metric": "accuracy", "value": v}
        ...         for lv, g, v in (("all", "all", 0.9), ("group", "a", 0.95),
        ...                          ("group", "b", 0.6), ("class", "0", 0.5))]
        >>> selection_score("best_val_worst_group_accuracy", rows, ["a", "b"])
        0.6
    """
    if selection not in SELECTION_RULES:
        return 0.0
    metric, over = SELECTION_RULES[selection]
    val = [r for r in rows if r["split"] == "val"]
    if metric == "loss" and any(r["metric"] == "mse" for r in val):
        metric = "mse"
    sign = 1.0 if higher_is_better(metric) else -1.0
    if over == "worst":
        values = [sign * r["value"] for r in val
                  if r["level"] == "group" and r["metric"] == metric]
        return min(values) if values else -math.inf
    return next((sign * r["value"] for r in val if r["group"] == "all" and r["metric"] == metric),
                -math.inf)


def check_module(model: torch.nn.Module, x: torch.Tensor, n_out: int, task: str,
                 title: str) -> None:
    """A user's module, tried on two training samples before training: one clear error
    naming the factory, the input and the output expected, instead of a raw torch error
    (or silent nonsense: 5 logits for a 2-class task trains without any error).

    Example:
        >>> check_module(torch.nn.Linear(3, 5), torch.zeros(2, 3), 2, "classification", "f(3, 2)")
        Traceback (most recent call last):
        ...
        ValueError: f(3, 2): its module returns shape (2, 5) for a batch of shape (2, 3); a \
classification task with 2 classes needs (batch, 2)
    """
    params = list(model.parameters())
    check(len(params) > 0, f"{title}: its module has no trainable parameters")
    bad = sorted({str(p.dtype) for p in params if p.dtype != torch.float32})
    check(not bad, f"{title}: its parameters are {', '.join(bad)}; the workbench trains "
                   "float32 modules (drop .double() / .half())")
    with torch.no_grad():
        try:
            out = model(x)
        except Exception as err:  # the user's module: say where it failed, then what
            raise ValueError(f"{title}: its module fails on a batch of shape "
                             f"{tuple(x.shape)} ({x.dtype}): {type(err).__name__}: {err}"
                             ) from None
    need = {"classification": ((2, n_out), f"(batch, {n_out})"),
            "regression": ((2,), "(batch,) or (batch, 1)"),
            "lm": ((2, *x.shape[1:], n_out), f"(batch, seq_len, {n_out})")}[task]
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
    ok = shape == need[0] or (task == "regression" and shape == (2, 1))
    what = (f"{task} task with {n_out} classes" if task == "classification"
            else f"{task} task")
    check(ok, f"{title}: its module returns "
              f"{'shape ' + str(shape) if shape else type(out).__name__} for a batch of shape "
              f"{tuple(x.shape)}; a {what} needs {need[1]}")
